import { mkdirSync } from "node:fs"
import path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { ROOT } from "../../scripts/stack"

/** Debian's Chromium; a test tool must never download a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  })
}

export const SCREENSHOT_DIR = path.join(ROOT, "test-output", "screenshots", "e2e")

/** Saves a screenshot under test-output/ (gitignored), for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

/** Registers through the UI (email, then the password method); the page ends signed in. */
export async function registerInBrowser(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/registration`)
  await page.fill("input[name='traits.email']", email)
  await page.click("button[type=submit]")
  // elements-react asks for the method first, then the password.
  await page.click("text=Enter your password")
  await page.fill("input[name='password']", password)
  await page.click("button[name='method'][value='password']")
  await page.waitForURL(/\/verification\?flow=/)
}

/** A Chrome DevTools virtual authenticator bound to this page (WebAuthn without hardware). */
export async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send("WebAuthn.enable")
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "usb",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  })
  return {
    credentials: async () =>
      (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length,
  }
}

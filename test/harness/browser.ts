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

/** Fails with the step's name instead of hanging: DevTools calls have no timeout of their own. */
function within<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** A Chrome DevTools virtual authenticator bound to this page (WebAuthn without hardware). */
export async function addVirtualAuthenticator(page: Page) {
  const cdp = await within("CDP session", page.context().newCDPSession(page))
  await within("WebAuthn.enable", cdp.send("WebAuthn.enable"))
  const { authenticatorId } = await within(
    "WebAuthn.addVirtualAuthenticator",
    cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "usb",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    }),
  )
  return {
    credentials: async () =>
      (
        await within(
          "WebAuthn.getCredentials",
          cdp.send("WebAuthn.getCredentials", { authenticatorId }),
        )
      ).credentials.length,
  }
}

import { generateSync } from "otplib"
import { mkdirSync } from "node:fs"
import path from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { ROOT } from "../../scripts/stack"

/** Debian's Chromium; a test tool must never download a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Headless, no sandbox, nothing fetched from the network on the browser's own account. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
]

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS })
}

/**
 * One browser for a test file (launched before its tests, closed after them) and fresh pages
 * of 1280×900, each with a step timeout below jest's, so a slow step fails with its own name.
 */
export function useBrowser(): { newPage: () => Promise<{ context: BrowserContext; page: Page }> } {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })
  return {
    newPage: async () => {
      if (!browser) throw new Error("useBrowser(): the browser is not running")
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
      context.setDefaultTimeout(30_000)
      return { context, page: await context.newPage() }
    },
  }
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
  await page.getByRole("button", { name: /^Password/ }).click()
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

/**
 * A Chrome DevTools virtual authenticator bound to this page (WebAuthn without hardware).
 * `internal` is a platform authenticator, which passkeys need (Kratos asks for one).
 */
export async function addVirtualAuthenticator(
  page: Page,
  { transport = "usb" }: { transport?: "usb" | "internal" } = {},
) {
  const cdp = await within("CDP session", page.context().newCDPSession(page))
  await within("WebAuthn.enable", cdp.send("WebAuthn.enable"))
  const { authenticatorId } = await within(
    "WebAuthn.addVirtualAuthenticator",
    cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport,
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

/** Signs in through the UI with a password; the page ends on the Security page (or a step-up). */
export async function loginInBrowser(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/login`)
  await page.waitForURL(/\/login\?flow=/)
  await page.fill("input[name='identifier']", email)
  await page.fill("input[name='password']", password)
  await page.click("button[name='method'][value='password']")
  await page.waitForURL((url) => !/\/login\?flow=/.test(url.href) || /aal=aal2/.test(url.href))
}

/**
 * Sets up the authenticator app on the Security page (the guided setup: secret, code, verify);
 * returns the secret Kratos showed. A first second factor opens the recovery codes after it.
 */
export async function enrolTotpInBrowser(page: Page, base: string): Promise<string> {
  await page.goto(`${base}/settings?tab=security`)
  await page.getByTestId("kg-method-totp").getByRole("button", { name: "Set up" }).click()
  const secret = (await page.getByTestId("kg-totp-secret").innerText()).trim()
  await page.getByLabel("Enter the 6-digit code the app shows").fill(generateSync({ secret }))
  await page.getByRole("button", { name: "Verify and turn on" }).click()
  await page.getByTestId("kg-2fa-status").getByText("Enabled").waitFor()
  return secret
}

/**
 * Saves recovery codes on the Security page: the ones shown after a first enrolment, or new
 * ones (Generate, or Regenerate and confirm). Reads them, then "I've saved them".
 */
export async function saveRecoveryCodesInBrowser(page: Page): Promise<string[]> {
  const shown = page.getByTestId("kg-codes-once")
  // Disabled while the page is still fetching the codes a first enrolment opens.
  const generate = page.getByRole("button", {
    name: /^(Generate|Regenerate) recovery codes$/,
    disabled: false,
  })
  await shown.or(generate).first().waitFor()
  if (!(await shown.isVisible())) {
    const again = (await generate.innerText()).startsWith("Regenerate")
    await generate.click()
    if (again)
      await page.getByRole("dialog").getByRole("button", { name: "Show new codes" }).click()
    await shown.waitFor()
  }
  const codes = (await page.getByTestId("kg-codes").locator("li").allInnerTexts()).map((c) =>
    c.trim(),
  )
  await page.getByRole("button", { name: "I've saved them" }).click()
  await page
    .getByTestId("kg-codes-left")
    .getByText(/12 of 12 left/)
    .waitFor()
  return codes
}

/** Completes the `aal=aal2` login step with a fresh authenticator code. */
export async function stepUpTotpInBrowser(page: Page, secret: string) {
  await page.waitForURL(/\/login\?.*flow=/)
  // With more than one second factor enrolled, elements asks which one first.
  const chooser = page.getByText("Authenticator app", { exact: true })
  const code = page.locator("input[name='totp_code']")
  await chooser.or(code).first().waitFor()
  if (await chooser.isVisible()) await chooser.click()
  await page.fill("input[name='totp_code']", generateSync({ secret }))
  await page.click("button[name='method'][value='totp']")
  await page.waitForURL((url) => !/\/login/.test(url.pathname))
}

/** Full-page screenshots at desktop (1280 px) and phone (390 px) widths. */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  const before = page.viewportSize()
  await page.setViewportSize({ width: 1280, height: 900 })
  await screenshot(page, `${name}-desktop`)
  await page.setViewportSize({ width: 390, height: 844 })
  await screenshot(page, `${name}-mobile`)
  if (before) await page.setViewportSize(before)
}

/**
 * Submits a plain HTML form from the page: a browser form post with the page's cookies, as a
 * page without our script sends it (no fetch, no JSON). Resolves once the answer has loaded.
 */
export async function postFormInBrowser(
  page: Page,
  action: string,
  fields: Record<string, string>,
): Promise<void> {
  await Promise.all([
    page.waitForNavigation(),
    page.evaluate(
      ({ action, fields }) => {
        const form = document.createElement("form")
        form.method = "POST"
        form.action = action
        for (const [name, value] of Object.entries(fields)) {
          const input = document.createElement("input")
          input.type = "hidden"
          input.name = name
          input.value = value
          form.append(input)
        }
        document.body.append(form)
        form.submit()
      },
      { action, fields },
    ),
  ])
}

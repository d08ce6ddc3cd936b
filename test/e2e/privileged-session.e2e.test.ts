import type { Browser } from "playwright-core"
import { launchBrowser, registerInBrowser, screenshotBothWidths } from "../harness/browser"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

// Kratos asks for a recent sign-in before saving security settings; a window of a few seconds
// lets the test reach "too old" without waiting for the shipped 15 minutes.
const PRIVILEGED_WINDOW = "4s"
const NEW_PASSWORD = "Amber-Tide-Orchard-58#"

let stack: Awaited<ReturnType<typeof startPrivateStack>>
let browser: Browser
beforeAll(async () => {
  stack = await startPrivateStack({
    mutateKratosConfig: (cfg) => {
      const selfservice = cfg.selfservice as { flows: { settings: Record<string, unknown> } }
      selfservice.flows.settings.privileged_session_max_age = PRIVILEGED_WINDOW
    },
  })
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

describe("privileged sessions, in a real browser", () => {
  it("when the sign-in is older than the privileged window, then a password change shows the Verify identity card, which leads to a refresh sign-in and back", async () => {
    const base = stack.urls.publicUrl
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const email = uniqueEmail("privileged")
    await registerInBrowser(page, base, email, STRONG_PASSWORD)
    await page.goto(`${base}/settings?tab=security`)
    await page.getByTestId("kg-2fa-status").waitFor()
    await page.waitForTimeout(5_000)

    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    const card = page.getByTestId("kg-verify-identity")
    await card.waitFor()
    await screenshotBothWidths(page, "security-verify-identity")
    const link = card.getByRole("link", { name: "Verify identity" })
    const href = new URL((await link.getAttribute("href"))!, base)
    expect(href.pathname).toBe("/login")
    expect(href.searchParams.get("refresh")).toBe("true")
    expect(
      new URL(href.searchParams.get("return_to")!).pathname +
        new URL(href.searchParams.get("return_to")!).search,
    ).toBe("/settings?tab=security")

    // The refresh sign-in asks for the password again and returns to the Security page.
    await link.click()
    await page.waitForURL(/\/login\?flow=/)
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.waitForURL(/\/settings\?tab=security/)
    await page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
    expect(await page.getByTestId("kg-verify-identity").count()).toBe(0)
    await context.close()
  })
})

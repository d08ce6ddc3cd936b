import type { Browser } from "playwright-core"
import {
  enrolTotpInBrowser,
  launchBrowser,
  registerInBrowser,
  saveRecoveryCodesInBrowser,
  screenshotBothWidths,
} from "../harness/browser"
import { kratosClients, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

// Kratos asks for a recent sign-in before saving security settings; a window of seconds lets
// the test reach "too old" without waiting for the shipped 15 minutes. Long enough for what a
// test does inside it (sign up, set up 2FA, save the codes) on a busy machine.
const WINDOW_MS = 10_000
const PRIVILEGED_WINDOW = `${WINDOW_MS / 1000}s`

/** Waits until the sign-in made at `signedInAt` is older than the window (and a second). */
const outlastWindow = (signedInAt: number) =>
  new Promise((r) => setTimeout(r, Math.max(0, signedInAt + WINDOW_MS + 1000 - Date.now())))
const NEW_PASSWORD = "Amber-Tide-Orchard-58#"

let stack: Awaited<ReturnType<typeof startPrivateStack>>
let browser: Browser
beforeAll(async () => {
  stack = await startPrivateStack({
    // The service reads the same window for what it asks itself (creating a device key).
    env: { KRATOS_PRIVILEGED_SESSION_MAX_AGE: PRIVILEGED_WINDOW },
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
  it("when the sign-in is older than the privileged window, then a password change asks for the password in a dialog, keeps what was typed, and saves it after", async () => {
    const base = stack.urls.publicUrl
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const email = uniqueEmail("privileged")
    await registerInBrowser(page, base, email, STRONG_PASSWORD)
    const signedInAt = Date.now()
    await page.goto(`${base}/settings?tab=security`)
    await page.getByTestId("kg-2fa-status").waitFor()
    await outlastWindow(signedInAt)

    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    const dialog = page.getByRole("dialog", { name: "Verify it's you" })
    await dialog.waitFor()
    await screenshotBothWidths(page, "security-verify-identity")
    // The full sign-in page is there for accounts without a password, and comes back here.
    const other = new URL(
      (await dialog.getByRole("link", { name: "Sign in again instead" }).getAttribute("href"))!,
      base,
    )
    expect(other.pathname).toBe("/login")
    expect(other.searchParams.get("refresh")).toBe("true")
    const back = new URL(other.searchParams.get("return_to")!)
    expect(back.pathname + back.search).toBe("/settings?tab=security")

    // A wrong password is said in the dialog; the right one saves the change that waited.
    await dialog.getByLabel("Your current password").fill("Not-The-Password-1!")
    await dialog.getByRole("button", { name: "Verify and save" }).click()
    await dialog.locator(".kg-field__error").first().waitFor()
    await dialog.getByLabel("Your current password").fill(STRONG_PASSWORD)
    await dialog.getByRole("button", { name: "Verify and save" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(/Password changed/)
      .waitFor()
    expect(page.url()).toContain("/settings")
    expect(await dialog.isVisible()).toBe(false)

    // Kratos's own state: the new password signs in, the old one doesn't.
    const { frontend } = kratosClients(stack.urls)
    const login = async (password: string) => {
      const { data: flow } = await frontend.createNativeLoginFlow()
      return frontend
        .updateLoginFlow({
          flow: flow.id,
          updateLoginFlowBody: { method: "password", identifier: email, password },
        })
        .then(
          () => true,
          () => false,
        )
    }
    expect(await login(NEW_PASSWORD)).toBe(true)
    expect(await login(STRONG_PASSWORD)).toBe(false)
    await context.close()
  })

  it("when the sign-in is older than the privileged window, then regenerating recovery codes asks in the same dialog and shows the new codes after", async () => {
    const base = stack.urls.publicUrl
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    await registerInBrowser(page, base, uniqueEmail("privileged-2fa"), STRONG_PASSWORD)
    const signedInAt = Date.now()
    await enrolTotpInBrowser(page, base)
    await saveRecoveryCodesInBrowser(page)
    await outlastWindow(signedInAt)

    await page.getByRole("button", { name: "Regenerate recovery codes" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Show new codes" }).click()
    const dialog = page.getByRole("dialog", { name: "Verify it's you" })
    await dialog.getByLabel("Your current password").fill(STRONG_PASSWORD)
    await dialog.getByRole("button", { name: "Verify and save" }).click()
    await page.getByTestId("kg-codes-once").waitFor()
    expect(await page.getByTestId("kg-codes").locator("li").count()).toBe(12)
    // Still the second-factor session it was: the refresh added a password, not a downgrade.
    const who = await (await context.request.get(`${base}/sessions/whoami`)).json()
    expect(who.authenticator_assurance_level).toBe("aal2")
    await context.close()
  })

  it("when the sign-in is older than the privileged window, then creating a device key asks in the same dialog, keeps the name typed, and shows the key once after", async () => {
    const base = stack.urls.publicUrl
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    await registerInBrowser(page, base, uniqueEmail("privileged-key"), STRONG_PASSWORD)
    const signedInAt = Date.now()
    await page.goto(`${base}/settings?tab=security`)
    const card = page.getByTestId("kg-api-keys")
    await card.getByRole("button", { name: "Create key" }).click()
    await card.getByLabel("Name").fill("Lobby screen")
    await outlastWindow(signedInAt)

    await card.getByTestId("kg-api-key-form").getByRole("button", { name: "Create key" }).click()
    const dialog = page.getByRole("dialog", { name: "Verify it's you" })
    await dialog.getByLabel("Your current password").fill(STRONG_PASSWORD)
    await screenshotBothWidths(page, "security-api-key-verify")
    await dialog.getByRole("button", { name: "Verify and save" }).click()
    const value = card.getByTestId("kg-api-key-value")
    await value.waitFor()
    expect((await value.innerText()).trim()).toMatch(/^kg_[0-9a-f]{16}_[0-9a-f]{64}$/)
    await card.getByTestId("kg-api-key").getByText("Lobby screen").waitFor()
    await context.close()
  })
})

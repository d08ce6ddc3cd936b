import {
  addVirtualAuthenticator,
  enrolTotpInBrowser,
  loginInBrowser,
  registerInBrowser,
  saveRecoveryCodesInBrowser,
  screenshotBothWidths,
  stepUpTotpInBrowser,
  useBrowser,
} from "../harness/browser"
import { closeServiceDb } from "../harness/db"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"
import { auditor } from "../harness/axe"

/** axe-core (test/harness/axe.ts): The Security page, its dialogs and the other settings tabs. */
const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

afterAll(async () => {
  await closeServiceDb()
})

describe("accessibility (axe-core): no serious or critical violations at 1280 and 390 px", () => {
  it("the Security page through setting up two-factor, with its dialogs, and the Profile, Notifications and Activity tabs", async () => {
    const { context, page } = await newPage()
    const a = auditor(page)
    const email = uniqueEmail("axe-security")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)

    await page.goto(`${base()}/settings?tab=security`)
    await page.getByTestId("kg-2fa-status").waitFor()
    await a.check("Security")

    await page.getByTestId("kg-method-totp").getByRole("button", { name: "Set up" }).click()
    await page.getByTestId("kg-totp-secret").waitFor()
    await a.check("Security, authenticator setup")

    const secret = await enrolTotpInBrowser(page, base())
    await page.getByTestId("kg-codes-once").waitFor()
    await a.check("Security, recovery codes shown once")
    await screenshotBothWidths(page, "axe-security-codes-once")
    await saveRecoveryCodesInBrowser(page)
    await a.check("Security, two-factor on")

    await page.getByRole("button", { name: "Remove authenticator app" }).click()
    await page.getByRole("dialog").waitFor()
    await a.check("Security, remove-method confirmation")
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click()

    await page.getByRole("button", { name: "Regenerate recovery codes" }).click()
    await page.getByRole("dialog").waitFor()
    await a.check("Security, regenerate-codes confirmation")
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click()

    await page.getByRole("button", { name: "Disable 2FA" }).click()
    await page.getByRole("dialog").waitFor()
    await a.check("Security, disable-2FA confirmation")
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click()

    // A security key, then its own Remove confirmation.
    const authenticator = await addVirtualAuthenticator(page)
    await page.getByLabel("Add a security key").fill("Axe key")
    await page.getByRole("button", { name: "Add security key" }).click()
    const removeKey = page.getByRole("button", { name: "Remove security key Axe key" })
    await removeKey.waitFor()
    expect(await authenticator.credentials()).toBe(1)
    await a.check("Security, with a security key")
    await removeKey.click()
    await page.getByRole("dialog").waitFor()
    await a.check("Security, remove-key confirmation")
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click()

    await page.goto(`${base()}/settings?tab=profile`)
    await page.locator("input[name='traits.email']").waitFor()
    await a.check("Profile")

    await page.goto(`${base()}/settings?tab=activity`)
    await page.getByTestId("kg-activity").waitFor()
    await a.check("Activity")

    await page.goto(`${base()}/settings?tab=notifications`)
    await page.getByTestId("kg-notification").first().waitFor()
    await a.check("Notifications")

    // The second step of a sign-in, with an authenticator code.
    await context.clearCookies()
    await loginInBrowser(page, base(), email, STRONG_PASSWORD)
    await page
      .locator("input[name='totp_code']")
      .or(page.getByText("Authenticator app", { exact: true }))
      .first()
      .waitFor()
    await a.check("/login, second step")
    await stepUpTotpInBrowser(page, secret)

    expect(a.seen).toHaveLength(13)
    expect(a.found).toEqual([])
    await context.close()
  })
})

import type { BrowserContext, Page } from "playwright-core"
import {
  enrolTotpInBrowser,
  useBrowser,
  loginInBrowser,
  registerInBrowser,
  saveRecoveryCodesInBrowser,
  screenshotBothWidths,
  stepUpTotpInBrowser,
} from "../harness/browser"
import { SECURITY_TEAM } from "../harness/databases"
import { eventually } from "../harness/eventually"
import { setManager, setRole, staff } from "../harness/flows"
import { registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const NEW_PASSWORD = "Quiet-Meadow-Falcon-77?"

const { newPage } = useBrowser()

const base = () => stackInfo().publicUrl

async function whoamiStatus(context: BrowserContext): Promise<number> {
  return (await context.request.get(`${base()}/sessions/whoami`)).status()
}

async function activityEvents(page: Page): Promise<string[]> {
  await page.goto(`${base()}/settings?tab=activity`)
  await page.getByTestId("kg-activity-item").first().waitFor()
  return page
    .getByTestId("kg-activity-item")
    .evaluateAll((items) => items.map((i) => i.getAttribute("data-event") ?? ""))
}

describe("the Security page, in a real browser against the whole stack", () => {
  it("a new member changes their password, enrols TOTP, saves recovery codes and sees it all in Activity", async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail("journey")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)
    const other = await newPage()
    await loginInBrowser(other.page, base(), email, STRONG_PASSWORD)
    expect(await whoamiStatus(other.context)).toBe(200)

    await page.goto(`${base()}/settings?tab=security`)
    await page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
    await page.getByTestId("kg-2fa-status").getByText("Disabled").waitFor()
    await screenshotBothWidths(page, "security-new-member")

    // A weak password: every broken rule is shown under the field, and nothing is sent.
    await page.getByLabel("New password", { exact: true }).fill("weakpass")
    await page.getByLabel("Confirm new password").fill("weakpass")
    await page.getByRole("button", { name: "Change password" }).click()
    const failing = await page
      .locator("[data-rule][data-state=failing]")
      .evaluateAll((rules) => rules.map((r) => r.getAttribute("data-rule")))
    expect(failing.sort()).toEqual(["digit", "min_length", "symbol", "uppercase"])
    await screenshotBothWidths(page, "security-weak-password")

    // A strong one: saved, and the other browser's session is signed out by Kratos.
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(/Password changed/)
      .waitFor()
    await eventually(async () => expect(await whoamiStatus(other.context)).toBe(401))
    expect(await whoamiStatus(context)).toBe(200)
    await other.context.close()

    await enrolTotpInBrowser(page, base())
    const codes = await saveRecoveryCodesInBrowser(page)
    expect(codes).toHaveLength(12)
    await screenshotBothWidths(page, "security-2fa-enabled")

    await eventually(async () =>
      expect(await activityEvents(page)).toEqual(
        expect.arrayContaining([
          "auth.registered",
          "auth.password_changed",
          "auth.2fa_enabled",
          "auth.2fa_recovery_codes_regenerated",
        ]),
      ),
    )
    await page.getByText("Password changed").first().waitFor()
    await page.getByText("Two-factor authentication turned on").first().waitFor()
    await screenshotBothWidths(page, "activity")
    await context.close()
  })

  it("an admin without 2FA past the grace period is kept on the Security page until they enrol, cannot find a Disable button, and steps up with TOTP after signing in again", async () => {
    const admin = await registerNative()
    await setRole(admin.identityId, "admin", new Date(Date.now() - 60 * 86_400_000))
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), admin.email, STRONG_PASSWORD)

    // The admin console (or any other page of the app) sends them back to enrol.
    await page.goto(`${base()}/admin`)
    await page.waitForURL((url) => url.pathname === "/settings")
    await page.getByTestId("kg-enrol-banner").waitFor()
    await screenshotBothWidths(page, "security-admin-must-enrol")
    const gate = await context.request.get(`${base()}/api/auth/gate`)
    expect(gate.status()).toBe(403)
    expect((await gate.json()).error.reason).toBe("mfa_enrollment_required")

    const secret = await enrolTotpInBrowser(page, base())
    await saveRecoveryCodesInBrowser(page)
    await page.getByTestId("kg-2fa-required").waitFor()
    expect(await page.getByTestId("kg-enrol-banner").count()).toBe(0)
    // Nothing on the page turns 2FA off for them.
    await page.getByTestId("kg-2fa-disable-reason").waitFor()
    expect(await page.getByRole("button", { name: "Disable 2FA" }).count()).toBe(0)
    expect(await page.getByRole("button", { name: "Remove authenticator app" }).count()).toBe(0)
    expect(await page.getByRole("button", { name: "Turn off recovery codes" }).count()).toBe(0)
    await screenshotBothWidths(page, "security-admin-enrolled")

    // A fresh password sign-in is AAL1: the settings page asks for the second factor.
    await context.clearCookies()
    await loginInBrowser(page, base(), admin.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=security`)
    await page.waitForURL(/\/login\?flow=/)
    await stepUpTotpInBrowser(page, secret)
    await page.getByTestId("kg-2fa-status").getByText("Enabled").waitFor()
    const after = await context.request.get(`${base()}/api/auth/gate`)
    expect(after.status()).toBe(200)
    expect((await after.json()).aal).toBe("aal2")
    await page.goto(`${base()}/admin`)
    await page.getByRole("heading", { name: "Admin console" }).waitFor()
    await page.getByRole("link", { name: "Admin", exact: true }).waitFor()
    expect(page.url()).toContain("/admin")
    await context.close()
  })

  it("a forced password change shows the banner until the member changes it, then clears and tells the manager and the security team", async () => {
    const member = await registerNative()
    const manager = await registerNative()
    await setManager(member.identityId, manager.identityId)
    const admin = await staff("admin")
    const forced = await fetch(
      `${base()}/api/admin/users/${member.identityId}/force-password-change`,
      { method: "POST", headers: { "X-Session-Token": admin.token } },
    )
    expect(forced.status).toBe(200)

    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=activity`)
    await page.waitForURL(/tab=security&reason=force_change/)
    await page.getByTestId("kg-force-banner").waitFor()
    // The Security page asks Kratos for a settings flow and Kratos sends the browser back to
    // /settings?flow=…: the tab and the reason survive that round trip.
    await page.waitForURL(/\?flow=[^&]+&tab=security&reason=force_change$/)
    await screenshotBothWidths(page, "security-forced-change")

    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(/unlocked/)
      .waitFor()
    await eventually(async () => expect(await page.getByTestId("kg-force-banner").count()).toBe(0))
    expect((await context.request.get(`${base()}/api/auth/gate`)).status()).toBe(200)

    const inbox = stackInfo().mailMessagesUrl!
    await eventually(async () => {
      const mails = (await (await fetch(inbox)).json()) as { to: string[]; subject: string }[]
      const recipients = mails
        .filter((m) => m.subject.includes(member.email))
        .flatMap((m) => m.to.map((t) => t.toLowerCase()))
      expect(recipients).toEqual(expect.arrayContaining([manager.email, ...SECURITY_TEAM]))
    })
    await context.close()
  })

  it("the session list shows both browsers, and one revokes the other", async () => {
    const email = uniqueEmail("sessions")
    const a = await newPage()
    const b = await newPage()
    await registerInBrowser(a.page, base(), email, STRONG_PASSWORD)
    await loginInBrowser(b.page, base(), email, STRONG_PASSWORD)

    await a.page.goto(`${base()}/settings?tab=security`)
    const sessions = a.page.getByTestId("kg-session")
    await eventually(async () => expect(await sessions.count()).toBe(2), 15_000)
    expect(await a.page.locator("[data-testid=kg-session][data-current=true]").count()).toBe(1)
    await a.page.getByRole("button", { name: "Sign out everywhere else" }).waitFor()
    await screenshotBothWidths(a.page, "security-sessions")

    await a.page.locator("[data-testid=kg-session][data-current=false]").getByRole("button").click()
    await a.page.getByTestId("kg-toast").getByText("Session signed out.").waitFor()
    await eventually(async () => expect(await sessions.count()).toBe(1))
    expect(await whoamiStatus(b.context)).toBe(401)
    expect(await whoamiStatus(a.context)).toBe(200)
    await a.context.close()
    await b.context.close()
  })
})

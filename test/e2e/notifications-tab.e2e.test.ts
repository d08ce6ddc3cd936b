import type { Page } from "playwright-core"
import { loginInBrowser, screenshotBothWidths, useBrowser } from "../harness/browser"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { loginPassword, staff } from "../harness/flows"
import { registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const base = () => stackInfo().publicUrl
const { newPage } = useBrowser()

afterAll(closeServiceDb)

const MANDATORY = ["Password changed", "Two-factor authentication removed"]
const OPTIONAL = [
  "Two-factor authentication turned on",
  "New recovery codes",
  "Recovery code used",
  "Sign-in from a new device",
  "Session signed out",
  "Security key or passkey added",
  "Security key or passkey removed",
]

async function preference(identityId: string, kind: string): Promise<boolean | null> {
  const rows = await serviceDb()<{ enabled: boolean }[]>`
    select enabled from notification_preferences where identity_id = ${identityId} and kind = ${kind}`
  return rows[0]?.enabled ?? null
}

/** The mails queued for each of the person's `auth.session_revoked` entries, oldest first. */
async function revokedMails(identityId: string): Promise<string[][]> {
  const rows = await serviceDb()<{ kinds: string[] }[]>`
    select coalesce(array_agg(o.kind order by o.kind) filter (where o.kind is not null), '{}') as kinds
      from audit_events a left join notification_outbox o on o.audit_event_id = a.event_id
     where a.subject_id = ${identityId} and a.event = 'auth.session_revoked'
     group by a.id order by a.id`
  return rows.map((r) => r.kinds)
}

/** Signs in twice more with the API and signs the second of those sessions out from the first. */
async function revokeAnotherSession(email: string): Promise<void> {
  const first = await loginPassword(email)
  const second = await loginPassword(email)
  const who = await fetch(`${base()}/sessions/whoami`, { headers: { "X-Session-Token": second } })
  const { id } = (await who.json()) as { id: string }
  const res = await fetch(`${base()}/api/me/sessions/${id}`, {
    method: "DELETE",
    headers: { "X-Session-Token": first },
  })
  expect(res.status).toBe(200)
}

const switchFor = (page: Page, name: string) =>
  page.getByTestId("kg-notifications").getByRole("switch", { name, exact: true })

const statusOf = (page: Page, kind: string) =>
  page
    .locator(`[data-testid=kg-notification][data-kind='${kind}']`)
    .getByTestId("kg-notification-status")

describe("the Notifications tab", () => {
  it("when a member switches the 'session signed out' mail off and on again, then it sticks across a reload, the mandatory ones stay locked, and the mail is queued only while it is on", async () => {
    const member = await registerNative(uniqueEmail("notify"))
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=notifications`)
    await page.getByRole("heading", { name: "Notifications", level: 1 }).waitFor()
    const nav = page.getByRole("navigation", { name: "Account" })
    expect(
      await nav.getByRole("link", { name: "Notifications" }).getAttribute("aria-current"),
    ).toBe("page")

    await switchFor(page, MANDATORY[0]!).waitFor()
    expect(await page.getByTestId("kg-notification").count()).toBe(
      MANDATORY.length + OPTIONAL.length,
    )
    for (const name of MANDATORY) {
      expect(await switchFor(page, name).isChecked()).toBe(true)
      expect(await switchFor(page, name).isDisabled()).toBe(true)
    }
    for (const name of OPTIONAL) {
      expect(await switchFor(page, name).isChecked()).toBe(true)
      expect(await switchFor(page, name).isEnabled()).toBe(true)
    }
    const locked = page.locator("[data-testid=kg-notification][data-mandatory=true]")
    expect(await locked.count()).toBe(2)
    for (const row of await locked.all()) {
      await row.getByText("Required by your organisation").waitFor()
    }
    await page
      .getByTestId("kg-notifications-note")
      .getByText(/manager and your organisation's security team/)
      .waitFor()
    await screenshotBothWidths(page, "notifications-tab")

    // Off with the keyboard: the switch is a real control.
    const revoked = switchFor(page, "Session signed out")
    await revoked.focus()
    await page.keyboard.press("Space")
    await statusOf(page, "user.session_revoked").getByText("Saved: this email is off.").waitFor()
    expect(await revoked.isChecked()).toBe(false)
    expect(await preference(member.identityId, "user.session_revoked")).toBe(false)
    const audited = await serviceDb()<{ details: { changed: Record<string, boolean> } }[]>`
      select details from audit_events
       where subject_id = ${member.identityId} and event = 'auth.notification_settings_changed'`
    expect(audited.map((a) => a.details.changed)).toEqual([{ "user.session_revoked": false }])
    await screenshotBothWidths(page, "notifications-tab-switched-off")

    await page.reload()
    await switchFor(page, "Session signed out").waitFor()
    expect(await switchFor(page, "Session signed out").isChecked()).toBe(false)
    expect(await switchFor(page, "Sign-in from a new device").isChecked()).toBe(true)
    const api = await context.request.get(`${base()}/api/me/notifications`)
    expect(api.status()).toBe(200)
    const items = (await api.json()).items as { kind: string; enabled: boolean }[]
    expect(items.find((i) => i.kind === "user.session_revoked")?.enabled).toBe(false)

    // While it is off, signing a session out queues no mail for the person.
    await revokeAnotherSession(member.email)
    await eventually(async () => expect(await revokedMails(member.identityId)).toEqual([[]]))

    await switchFor(page, "Session signed out").click()
    await statusOf(page, "user.session_revoked").getByText("Saved: this email is on.").waitFor()
    expect(await preference(member.identityId, "user.session_revoked")).toBe(true)
    await revokeAnotherSession(member.email)
    await eventually(async () =>
      expect(await revokedMails(member.identityId)).toEqual([[], ["user.session_revoked"]]),
    )
    await context.close()
  })

  it("when the save doesn't reach the server, then the switch goes back and the row says it wasn't saved", async () => {
    const member = await registerNative(uniqueEmail("notify-fail"))
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=notifications`)
    const device = switchFor(page, "Sign-in from a new device")
    await device.waitFor()
    await page.route("**/api/me/notifications", (route) =>
      route.request().method() === "PUT" ? route.abort() : route.continue(),
    )
    await device.click()
    await statusOf(page, "user.new_device_login")
      .getByText(/^Couldn't save:/)
      .waitFor()
    expect(await device.isChecked()).toBe(true)
    expect(await preference(member.identityId, "user.new_device_login")).toBeNull()
    await screenshotBothWidths(page, "notifications-tab-save-failed")
    await context.close()
  })

  it("when a member is due a forced password change, then the tab sends them to the Security page, as Activity does", async () => {
    const member = await registerNative(uniqueEmail("notify-gated"))
    const admin = await staff("admin")
    const forced = await fetch(
      `${base()}/api/admin/users/${member.identityId}/force-password-change`,
      { method: "POST", headers: { "X-Session-Token": admin.token } },
    )
    expect(forced.status).toBe(200)
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    expect((await context.request.get(`${base()}/api/me/notifications`)).status()).toBe(403)
    await page.goto(`${base()}/settings?tab=notifications`)
    await page.waitForURL(/tab=security&reason=force_change/)
    await page.getByTestId("kg-force-banner").waitFor()
    expect(await page.getByTestId("kg-notifications").count()).toBe(0)
    await context.close()
  })
})

import { randomUUID } from "node:crypto"
import { mkdirSync, readFileSync } from "node:fs"
import path from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { ROOT } from "../../scripts/stack"
import { launchBrowser } from "../harness/browser"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { credentialTypes, enrolTotp, loginPassword, setRole, totpCode } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const SHOTS = path.join(ROOT, "test-output", "screenshots", "admin")
const DESKTOP = { width: 1280, height: 900 }
const PHONE = { width: 390, height: 844 }

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await closeServiceDb()
})

const base = () => stackInfo().publicUrl

/**
 * Screenshots at desktop and phone widths, for a person to look at: the whole page, or only
 * the viewport when a modal dialog is open (its backdrop covers the viewport). Toasts are
 * dismissed first so they don't cover the content.
 */
async function shots(page: Page, name: string, { fullPage = true } = {}) {
  mkdirSync(SHOTS, { recursive: true })
  const dismiss = page.getByRole("button", { name: "Dismiss" })
  // A toast may also leave on its own between the count and the click.
  while ((await dismiss.count()) > 0)
    await dismiss
      .first()
      .click({ timeout: 2000 })
      .catch(() => {})
  // A focus ring left on a field by the test itself is not what the page looks like at rest.
  if (fullPage) await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage })
  await page.setViewportSize(PHONE)
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage })
  await page.setViewportSize(DESKTOP)
}

/** Someone with a role and TOTP enrolled, whose TOTP secret the test knows. */
async function staffWithTotp(role: "admin" | "super_admin") {
  const user = await registerNative(uniqueEmail(role.replace("_", "")))
  const { secret } = await enrolTotp(user.sessionToken)
  await setRole(user.identityId, role)
  return { ...user, secret }
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })
  // Below jest's timeout, so a slow step fails with its own name.
  context.setDefaultTimeout(30_000)
  return { context, page: await context.newPage() }
}

/** A password-only sign-in (AAL1) that returns to a console page, as a bookmark would. */
async function signInWithPassword(page: Page, email: string, at: string) {
  const returnTo = new URL(at, base()).href
  await page.goto(`${base()}/login?return_to=${encodeURIComponent(returnTo)}`)
  await page.fill("input[name='identifier']", email)
  await page.fill("input[name='password']", STRONG_PASSWORD)
  await page.click("button[name='method'][value='password']")
  await page.waitForURL((url) => url.pathname.startsWith("/admin"))
}

/** From the console's "Confirm it's you" card through Kratos's AAL2 login, back to the console. */
async function stepUp(page: Page, secret: string) {
  await page.getByRole("link", { name: "Continue with two-factor" }).click()
  await page.waitForURL(/\/login\?/)
  await page.fill("input[name='totp_code']", totpCode(secret))
  await page.click("button[name='method'][value='totp']")
  await page.waitForURL((url) => url.pathname.startsWith("/admin"))
}

/** An admin signed in at AAL2 in a fresh browser context, on the given console page. */
async function adminInBrowser(role: "admin" | "super_admin", at = "/admin") {
  const admin = await staffWithTotp(role)
  const { context, page } = await newPage()
  await signInWithPassword(page, admin.email, at)
  await stepUp(page, admin.secret)
  return { admin, context, page }
}

async function gateReason(token: string) {
  const res = await fetch(`${base()}/api/auth/gate`, { headers: { "X-Session-Token": token } })
  const body = (await res.json()) as { error?: { reason?: string } }
  return [res.status, body.error?.reason]
}

async function sessionAlive(token: string): Promise<boolean> {
  const res = await fetch(`${base()}/sessions/whoami`, { headers: { "X-Session-Token": token } })
  return res.status === 200
}

describe("admin console: who gets in", () => {
  it("when an admin signs in with only a password, then the console asks them to confirm it's you, and after the TOTP step-up the team list shows a member", async () => {
    const admin = await staffWithTotp("admin")
    const member = await registerNative(uniqueEmail("teammate"))
    const { context, page } = await newPage()
    await signInWithPassword(page, admin.email, "/admin")
    await page.getByRole("heading", { name: "Confirm it's you" }).waitFor()
    expect(await page.getByRole("navigation", { name: "Admin sections" }).count()).toBe(0)
    await shots(page, "step-up")

    await stepUp(page, admin.secret)
    await page.getByRole("heading", { name: "Team" }).waitFor()
    await page.getByLabel("Search").fill(member.email)
    const row = page.getByRole("row").filter({ hasText: member.email })
    await row.waitFor()
    expect(await row.getByText("Member", { exact: true }).count()).toBe(1)
    await page.getByLabel("Search").fill("")
    await page.getByRole("row").nth(2).waitFor()
    await shots(page, "team")
    await context.close()
  })

  it("when a search matches more people than one page holds, then Load more adds the rest once each and the count says so", async () => {
    const tag = `pager${Date.now().toString(36)}`
    const people = await Promise.all(
      Array.from({ length: 30 }, () => registerNative(uniqueEmail(tag))),
    )
    const { context, page } = await adminInBrowser("admin", `/admin?search=${tag}`)
    const rows = page.getByRole("row").filter({ hasText: tag })
    await page.getByText("Showing 25 of 30").waitFor()
    expect(await rows.count()).toBe(25)
    await page.getByRole("button", { name: "Load more" }).click()
    await page.getByText("Showing 30 of 30").waitFor()
    const shown = await rows.allInnerTexts()
    expect(new Set(people.map((p) => shown.find((t) => t.includes(p.email)))).size).toBe(30)
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0)
    await context.close()
  })
  it("when an admin with no second factor yet opens the console, then they are sent to set one up rather than to a step-up they can't pass", async () => {
    const admin = await registerNative(uniqueEmail("newadmin"))
    await setRole(admin.identityId, "admin")
    const { context, page } = await newPage()
    await signInWithPassword(page, admin.email, "/admin")
    await page.getByRole("heading", { name: "Set up two-factor first" }).waitFor()
    expect(await page.getByRole("link", { name: "Set up two-factor" }).getAttribute("href")).toBe(
      "/settings?tab=security",
    )
    await shots(page, "setup-2fa-first")
    await context.close()
  })

  it("when someone without a session opens a console page, then they are sent to sign in and brought back to it", async () => {
    const { context, page } = await newPage()
    await page.goto(`${base()}/admin/audit?event=admin.role_changed`)
    await page.waitForURL((url) => url.pathname === "/login")
    const returnTo = new URL(page.url()).searchParams.get("return_to")
    expect(returnTo).toBe(`${base()}/admin/audit?event=admin.role_changed`)
    await context.close()
  })

  it("when a member opens the console, then they see the Admins only card", async () => {
    const member = await registerNative(uniqueEmail("member"))
    const { context, page } = await newPage()
    await signInWithPassword(page, member.email, "/admin/audit")
    await page.getByRole("heading", { name: "Admins only" }).waitFor()
    await shots(page, "admins-only")
    await context.close()
  })
})

describe("admin console: a person's page", () => {
  it("when a super admin forces a password change and sets a role, then the member's gate asks for a new password and Kratos holds the new role", async () => {
    const member = await registerNative(uniqueEmail("forced"))
    const { context, page } = await adminInBrowser(
      "super_admin",
      `/admin/users/${member.identityId}`,
    )
    await page.getByRole("heading", { name: member.email }).waitFor()

    await page.getByRole("button", { name: "Force change" }).click()
    const confirm = page.getByRole("dialog", { name: "Require a password change?" })
    await confirm.getByRole("button", { name: "Require change" }).click()
    await page.getByText(`${member.email} must choose a new password`).waitFor()
    await page.getByRole("button", { name: "Already required" }).waitFor()
    expect(await gateReason(member.sessionToken)).toEqual([403, "password_change_required"])

    await page.getByLabel("Role", { exact: true }).selectOption("admin")
    await page.getByRole("button", { name: "Save role" }).click()
    await page.getByText(`Role of ${member.email} is now Admin.`).waitFor()
    const { data } = await kratosClients().identities.getIdentity({ id: member.identityId })
    expect((data.metadata_public as { role?: string }).role).toBe("admin")
    await shots(page, "user")
    await context.close()
  })

  it("when an admin resets a member's 2FA and later revokes their sessions, then Kratos has no TOTP left and the member is signed out", async () => {
    const member = await registerNative(uniqueEmail("reset"))
    await enrolTotp(member.sessionToken)
    expect(await credentialTypes(member.identityId)).toContain("totp")
    const { context, page } = await adminInBrowser("admin", `/admin/users/${member.identityId}`)
    await page.getByText("Authenticator app", { exact: true }).first().waitFor()

    await page.getByRole("button", { name: "Reset 2FA" }).click()
    const dialog = page.getByRole("dialog", { name: "Reset two-factor authentication?" })
    await dialog.getByText("revokes all their sessions").waitFor()
    // No manager is set; the test stack has a security team address: the dialog says just that.
    expect(await dialog.getByText("The security team is notified.").count()).toBe(1)
    expect(await dialog.getByText(/manager/).count()).toBe(0)
    await shots(page, "reset-2fa-confirm", { fullPage: false })
    await dialog.getByRole("button", { name: "Reset 2FA and sign out" }).click()
    await page.getByText(`Two-factor for ${member.email} was reset`).waitFor()
    expect(await credentialTypes(member.identityId)).not.toContain("totp")
    expect(await sessionAlive(member.sessionToken)).toBe(false)

    // They sign in again with their password; the admin then ends that session too.
    const again = await loginPassword(member.email)
    await page.reload()
    await page.getByRole("heading", { name: "Active sessions (1)" }).waitFor()
    await page.getByRole("button", { name: "Revoke sessions" }).click()
    await page
      .getByRole("dialog", { name: "Sign them out everywhere?" })
      .getByRole("button", { name: "Revoke all sessions" })
      .click()
    await page.getByText(`All sessions of ${member.email} were revoked.`).waitFor()
    expect(await sessionAlive(again)).toBe(false)
    await page.getByRole("heading", { name: "Active sessions (0)" }).waitFor()

    await page.goto(`${base()}/admin/users/${randomUUID()}`)
    await page.getByRole("heading", { name: "No such person" }).waitFor()
    await context.close()
  })

  it("when an admin adds a user, then the one-time code and link are shown once with copy buttons", async () => {
    const { context, page } = await adminInBrowser("admin", "/admin/team")
    const email = uniqueEmail("new-hire")
    await page.getByRole("button", { name: "Add user" }).click()
    const dialog = page.getByRole("dialog", { name: "Add user" })
    await dialog.getByLabel("Work email").fill(email)
    await dialog.getByLabel("First name (optional)").fill("Grace")
    await dialog.getByLabel("Last name (optional)").fill("Hopper")
    await shots(page, "provision-form", { fullPage: false })
    await dialog.getByRole("button", { name: "Create account" }).click()
    const created = page.getByRole("dialog", { name: "Account created" })
    const code = await created.getByLabel("One-time recovery code").inputValue()
    expect(code).toMatch(/^\d{6,}$/)
    expect(await created.getByLabel("Recovery link").inputValue()).toContain("/recovery?flow=")
    expect(await created.getByRole("button", { name: "Copy" }).count()).toBe(2)
    await shots(page, "provision-result", { fullPage: false })
    const link = await created.getByLabel("Recovery link").inputValue()
    await created.getByRole("button", { name: "Done" }).click()
    await page.getByLabel("Search").fill(email)
    await page.getByRole("row").filter({ hasText: "Grace Hopper" }).waitFor()
    // The admin looks at their record (audited as a view of it).
    await page
      .getByRole("row")
      .filter({ hasText: "Grace Hopper" })
      .getByRole("link")
      .first()
      .click()
    await page.waitForURL(/\/admin\/users\//)
    await page.getByText(email).first().waitFor()

    // The new hire opens the link: no email was sent, and they have no password to have changed.
    const hire = await newPage()
    await hire.page.goto(link)
    await hire.page.getByText("Enter the one-time recovery code you were given").waitFor()
    expect(
      await hire.page.getByText(/email containing a recovery code has been sent/).count(),
    ).toBe(0)
    await shots(hire.page, "provisioned-recovery")
    await hire.page.fill("input[name='code']", code)
    await hire.page.click("button[type=submit][name='method']")
    await hire.page.waitForURL(/\/settings/)
    const card = hire.page.getByTestId("kg-password")
    await card.getByText("You have no password yet").waitFor()
    expect(await card.getByText(/Last changed/).count()).toBe(0)
    await shots(hire.page, "provisioned-security")
    // Their Activity names the admin once, and shows none of the admin's looks or devices.
    await hire.page.goto(`${base()}/settings?tab=activity`)
    const provisioned = hire.page.locator(
      "[data-testid='kg-activity-item'][data-event='admin.user_provisioned']",
    )
    await provisioned.waitFor()
    expect((await provisioned.locator(".kg-list__title").innerText()).trim()).toBe(
      "Account created by an administrator",
    )
    expect(await provisioned.locator(".kg-list__meta").innerText()).toBe("")
    expect(await hire.page.locator("[data-event='admin.user_viewed']").count()).toBe(0)
    await shots(hire.page, "provisioned-activity")
    await hire.context.close()

    // The same address again: a readable refusal with the request id, in the dialog.
    await page.goto(`${base()}/admin/team`)
    await page.getByRole("button", { name: "Add user" }).click()
    const again = page.getByRole("dialog", { name: "Add user" })
    await again.getByLabel("Work email").fill(email)
    await again.getByRole("button", { name: "Create account" }).click()
    const refusal = again.getByRole("alert")
    await refusal.getByText("A user with this email exists.").waitFor()
    expect(await refusal.textContent()).toMatch(/request \S+/)
    await context.close()
  })
})

describe("admin console: policy, audit log and notifications", () => {
  it("when an admin opens Compliance, then the policy is read-only with a note; a super admin sees a bad value named under its field and saves a good one, audited", async () => {
    const { context, page } = await adminInBrowser("admin", "/admin/compliance")
    await page.getByRole("heading", { name: "Compliance" }).waitFor()
    await page.getByText("Only a super admin can change it").waitFor()
    expect(await page.getByRole("checkbox", { name: "Require for everyone" }).isDisabled()).toBe(
      true,
    )
    expect(await page.getByRole("button", { name: "Save policy" }).count()).toBe(0)
    await shots(page, "compliance-admin")
    await context.close()

    const boss = await adminInBrowser("super_admin", "/admin/compliance")
    await boss.page.getByRole("heading", { name: "Compliance" }).waitFor()
    const everyone = boss.page.getByRole("checkbox", { name: "Require for everyone" })
    expect(await everyone.isDisabled()).toBe(false)
    await everyone.click()
    expect(await boss.page.getByRole("button", { name: "Save policy" }).isEnabled()).toBe(true)
    await boss.page.getByRole("button", { name: "Discard changes" }).click()
    expect(await everyone.isChecked()).toBe(false)
    await shots(boss.page, "compliance")

    // A bad value is named under its field and nothing is sent; a good one is saved and audited.
    const grace = boss.page.getByLabel("Grace period to enrol (hours)")
    const hours = Number(await grace.inputValue())
    await grace.fill("soon")
    await boss.page.getByRole("button", { name: "Save policy" }).click()
    await boss.page.getByText("Enter whole hours from 0 to 2160.").waitFor()
    expect(await grace.getAttribute("aria-invalid")).toBe("true")
    // One hour more than now and back again: other tests sharing the stack stay within grace.
    for (const value of [hours + 1, hours]) {
      await grace.fill(String(value))
      await boss.page.getByRole("button", { name: "Save policy" }).click()
      await boss.page.getByText("Policy saved.").first().waitFor()
      await eventually(async () => {
        const [row] = await serviceDb()<{ hours: number }[]>`
          select mfa_grace_period_hours as hours from org_policy where id = 'default'`
        expect(row!.hours).toBe(value)
      })
      await boss.page
        .getByRole("button", { name: "Dismiss" })
        .first()
        .click({ timeout: 2000 })
        .catch(() => {})
    }
    const audited = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events
      where event = 'policy.updated' and actor_id = ${boss.admin.identityId}`
    expect(audited[0]!.n).toBe(2)

    // Security emails: the two defaults are ticked; a third made mandatory is saved, then undone.
    const mails = boss.page.getByRole("group", { name: "Security emails" })
    const ticked = () =>
      mails.locator("label:has(input:checked) .kg-admin-check__label").allTextContents()
    expect(await ticked()).toEqual(["Password changed", "Two-factor authentication removed"])
    const turnedOn = mails.getByRole("checkbox", { name: /^Two-factor authentication turned on/ })
    for (const on of [true, false]) {
      await turnedOn.setChecked(on)
      if (on) await shots(boss.page, "compliance-security-emails")
      await boss.page.getByRole("button", { name: "Save policy" }).click()
      await boss.page.getByText("Policy saved.").first().waitFor()
      await eventually(async () => {
        const [row] = await serviceDb()<{ mandatory: string[] }[]>`
          select mandatory_notifications as mandatory from org_policy where id = 'default'`
        expect(row!.mandatory.includes("user.2fa_enabled")).toBe(on)
      })
      await boss.page
        .getByRole("button", { name: "Dismiss" })
        .first()
        .click({ timeout: 2000 })
        .catch(() => {})
    }
    await boss.context.close()
  })

  it("when an admin moves between sections with the keyboard, then each tab is a link that opens its page and focus lands in the page", async () => {
    const { context, page } = await adminInBrowser("admin", "/admin/team")
    await page.getByRole("heading", { name: "Team" }).waitFor()
    const tab = page.getByRole("link", { name: "Notifications" })
    await tab.focus()
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: "Notification failures" }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/admin/notifications")
    expect(await tab.getAttribute("aria-current")).toBe("page")
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("MAIN")
    await page.keyboard.press("Tab")
    expect(
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.textContent),
    ).toBe("Refresh")
    await page.goBack()
    await page.getByRole("heading", { name: "Team" }).waitFor()
    await context.close()
  })

  it("when an admin filters the audit log by event and actor, then their entries show, and the CSV export downloads with a header row", async () => {
    const member = await registerNative(uniqueEmail("audited"))
    const { admin, context, page } = await adminInBrowser(
      "admin",
      `/admin/users/${member.identityId}`,
    )
    await page.getByRole("button", { name: "Force change" }).click()
    await page
      .getByRole("dialog", { name: "Require a password change?" })
      .getByRole("button", { name: "Require change" })
      .click()
    await page.getByRole("button", { name: "Already required" }).waitFor()

    await page.getByRole("link", { name: "Audit log" }).click()
    await page.getByRole("heading", { name: "Audit log" }).waitFor()
    await page.getByLabel("Event").selectOption("auth.force_password_change_required")
    // The actor by the 8 characters the log shows; the subject picked by email from the matches.
    await page.getByLabel("Actor").fill(admin.identityId.slice(0, 8))
    await page.getByLabel("Subject").fill(member.email)
    const choice = page.locator(`datalist option[value='${member.identityId}']`)
    await choice.waitFor({ state: "attached" })
    expect(await choice.getAttribute("label")).toContain(member.email)
    await page.getByLabel("Subject").fill(member.identityId)
    const filterForm = page.getByRole("form", { name: "Audit log filters" })
    await filterForm.getByText(member.email, { exact: true }).waitFor()
    await page.getByRole("button", { name: "Apply" }).click()
    await page.waitForURL(/event=auth\.force_password_change_required/)
    const rows = page.locator("tbody tr")
    await eventually(async () => expect(await rows.count()).toBe(1))
    expect(await rows.first().textContent()).toContain("Password change required")
    expect(await rows.first().getByTitle(member.identityId).count()).toBe(1)
    // People by their email, not by an id.
    expect(await rows.first().getByRole("link", { name: member.email }).count()).toBe(1)
    await shots(page, "audit")

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Export CSV" }).click(),
    ])
    expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/)
    const csv = readFileSync((await download.path())!, "utf8").split("\r\n")
    expect(csv[0]).toMatch(/^id,event_id,occurred_at,event,actor_type,actor_id,subject_id,/)
    expect(csv.filter((line) => line.includes(member.identityId))).toHaveLength(1)

    // A name is not an id: the field says to pick a person, and nothing is asked of the API.
    await page.getByLabel("Subject").fill("not an id")
    await page.getByRole("button", { name: "Apply" }).click()
    await page.getByText("Pick a person from the list").waitFor()
    await context.close()
  })

  it("when a notification has failed for good, then it is listed and Retry queues it again", async () => {
    const subject = `Security notice ${randomUUID().slice(0, 8)}`
    const [row] = await serviceDb()<{ id: string }[]>`
      insert into notification_outbox
        (audit_event_id, kind, recipient, subject, body_text, status, attempts, last_error, message_id)
      values (${randomUUID()}, 'user.password_changed', ${uniqueEmail("unreachable")}, ${subject},
        'Your password was changed.', 'dead', 8, '554 5.7.1 relay access denied',
        ${`<${randomUUID()}@kratos-guard.test>`})
      returning id`
    const { context, page } = await adminInBrowser("admin", "/admin/notifications?status=dead")
    const listed = page.getByRole("row").filter({ hasText: subject })
    await listed.getByText("Gave up").waitFor()
    await listed.getByText("554 5.7.1 relay access denied").waitFor()
    await shots(page, "notifications")

    await listed.getByRole("button", { name: /^Retry/ }).click()
    await listed.getByText("Queued to send").waitFor()
    await eventually(async () => {
      const [now] = await serviceDb()<{ status: string }[]>`
        select status from notification_outbox where id = ${row!.id}`
      expect(now!.status).not.toBe("dead")
    })
    await context.close()
  })
})

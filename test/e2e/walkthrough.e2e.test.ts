import { mkdirSync, readFileSync, rmSync } from "node:fs"
import path from "node:path"
import postgres from "postgres"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { seedDemo, type DemoAccount, type DemoTenant } from "../../scripts/demo-tenant"
import { DEV_SECURITY_TEAM, devServiceEnv } from "../../scripts/dev-env"
import { ROOT } from "../../scripts/stack"
import { launchBrowser, loginInBrowser, stepUpTotpInBrowser } from "../harness/browser"
import { eventually } from "../harness/eventually"
import { kratosClients } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

/**
 * README ▸ "Five minutes with kratos-guard", step by step, in Chromium: a stack with the
 * settings `npm start` gives the service (scripts/dev-env.ts), seeded by the code behind
 * `npm start -- --demo`. Each step first checks that the README still says what the test does.
 */

const SHOTS = path.join(ROOT, "test-output", "screenshots", "walkthrough")
const NEW_PASSWORD = "Sofia-Fresh-Start-9!"

let demo: Awaited<ReturnType<typeof startPrivateStack>>
let tenant: DemoTenant
let browser: Browser
let sql: postgres.Sql
const stateFile = path.join(ROOT, "test-output", `demo-${process.pid}.json`)

beforeAll(async () => {
  demo = await startPrivateStack({ mailSink: "up", env: devServiceEnv() })
  sql = postgres(demo.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
  const seeded = await seedDemo({
    serviceUrl: demo.stack.publicUrl,
    apiKey: demo.stack.serviceEnv.KRATOS_WEBHOOK_API_KEY!,
    stateFile,
  })
  expect(seeded.fresh).toBe(true)
  tenant = seeded.tenant
  browser = await launchBrowser()
  rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await sql?.end({ timeout: 2 })
  await demo?.stop()
  rmSync(stateFile, { force: true })
})

const base = () => demo.stack.publicUrl
const account = (key: string): DemoAccount & { identityId: string } => {
  const a = tenant.accounts.find((x) => x.key === key)
  if (!a?.identityId) throw new Error(`no seeded account ${key}`)
  return a as DemoAccount & { identityId: string }
}

/** The numbered steps of the README's walkthrough, as text. */
function readmeSteps(): string[] {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8")
  const start = readme.indexOf("## Five minutes with kratos-guard")
  expect(start).toBeGreaterThan(-1)
  const section = readme.slice(start, readme.indexOf("\n---", start))
  return section
    .split(/\n(?=\d+\. )/)
    .slice(1)
    .map((s) => s.replace(/\s+/g, " "))
}

/** Fails when the README's step no longer names what the test does in it. */
function step(n: number, ...mentions: string[]) {
  const text = readmeSteps()[n - 1]
  expect(text).toBeDefined()
  for (const m of mentions) expect(text).toContain(m)
}

async function shot(page: Page, name: string, { fullPage = true } = {}) {
  const dismiss = page.getByRole("button", { name: "Dismiss" })
  while ((await dismiss.count()) > 0)
    await dismiss
      .first()
      .click({ timeout: 2000 })
      .catch(() => {})
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage })
}

async function newContext(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(30_000)
  return { context, page: await context.newPage() }
}

describe("README ▸ Five minutes with kratos-guard", () => {
  it("a newcomer signs in as the super admin, forces a change, watches the mails arrive and reads the audit log", async () => {
    expect(readmeSteps()).toHaveLength(6)
    const olivia = account("superAdmin")
    const sofia = account("active")
    const daniel = account("manager")

    // 1. Sign in as the super admin.
    step(1, olivia.email, olivia.password!, "npm run demo -- code", "12 recovery codes")
    const admin = await newContext()
    // The printed URL sends a signed-out visitor on to the sign-in form; once there, sign in.
    await admin.page.goto(base())
    await admin.page.waitForURL(/\/login\?flow=/)
    await loginInBrowser(admin.page, base(), olivia.email, olivia.password!)
    await stepUpTotpInBrowser(admin.page, tenant.totpSecret)
    await admin.page.waitForURL(/\/settings/)
    await admin.page.getByTestId("kg-2fa-status").getByText("Enabled").waitFor()
    await admin.page
      .getByTestId("kg-codes-left")
      .getByText(/12 of 12 left/)
      .waitFor()
    await shot(admin.page, "1-super-admin-security-page")

    // 2. Look at the team.
    step(2, "**Admin**", "Marcus Reed", "Priya Shah", "Emma Lopez", "Liam Novak", "Noah Kim")
    await admin.page.getByRole("link", { name: "Admin", exact: true }).click()
    await admin.page.getByRole("heading", { name: "Team" }).waitFor()
    const row = (a: DemoAccount) => admin.page.getByRole("row").filter({ hasText: a.email })
    for (const a of tenant.accounts) await row(a).waitFor()
    for (const key of ["adminInGrace", "adminOverdue"])
      await row(account(key)).getByText("Missing · required").waitFor()
    await row(account("forced")).getByText("Password change due").waitFor()
    await row(account("deactivated")).getByText("Deactivated").waitFor()
    await shot(admin.page, "2-team")

    // 3. Force a password change.
    step(3, `**${sofia.name}**`, "**Force change**", "**Require change**")
    await row(sofia).getByRole("link").first().click()
    await admin.page.getByRole("heading", { name: sofia.email }).waitFor()
    await admin.page.getByRole("button", { name: "Force change" }).click()
    await admin.page
      .getByRole("dialog", { name: "Require a password change?" })
      .getByRole("button", { name: "Require change" })
      .click()
    await admin.page.getByText(`${sofia.email} must choose a new password`).waitFor()
    await admin.page.getByRole("button", { name: "Already required" }).waitFor()
    await shot(admin.page, "3-force-change")

    // 4. Be Sofia, in a browser of her own.
    step(4, sofia.email, sofia.password!, NEW_PASSWORD, "**Change password**")
    const member = await newContext()
    await loginInBrowser(member.page, base(), sofia.email, sofia.password!)
    await member.page.waitForURL(/\/settings\?flow=[^&]+&tab=security/)
    await member.page.getByTestId("kg-force-banner").waitFor()
    // Anywhere else in the app she is sent back to it.
    await member.page.goto(`${base()}/settings?tab=activity`)
    await member.page.waitForURL(/tab=security&reason=force_change/)
    await member.page.getByTestId("kg-force-banner").waitFor()
    await shot(member.page, "4a-member-forced-change")
    await member.page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await member.page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await member.page.getByRole("button", { name: "Change password" }).click()
    await member.page
      .getByTestId("kg-toast")
      .getByText(/unlocked/)
      .waitFor()
    await eventually(async () =>
      expect(await member.page.getByTestId("kg-force-banner").count()).toBe(0),
    )
    // Kratos signed her out everywhere else: the page, reloaded, lists this browser only.
    const { identities } = kratosClients(demo.urls)
    const { data: left } = await identities.listIdentitySessions({
      id: sofia.identityId,
      active: true,
    })
    expect(left).toHaveLength(1)
    await member.page.reload()
    await eventually(async () =>
      expect(await member.page.getByTestId("kg-session").count()).toBe(1),
    )
    await shot(member.page, "4b-member-changed-password")
    await member.context.close()

    // 5. Watch the mails arrive.
    step(5, "`/dev/mail`", daniel.name, DEV_SECURITY_TEAM)
    const completed = `${sofia.email} completed a required password change`
    const inbox = await newContext()
    await eventually(async () => {
      await inbox.page.goto(`${base()}/dev/mail`)
      const mails = inbox.page.locator("article").filter({ hasText: completed })
      expect(await mails.count()).toBe(2)
    }, 20_000)
    const recipients = await inbox.page
      .locator("article")
      .filter({ hasText: completed })
      .locator(".meta")
      .allInnerTexts()
    expect(recipients.join("\n")).toContain(daniel.email)
    expect(recipients.join("\n")).toContain(DEV_SECURITY_TEAM)
    const toSofia = inbox.page
      .locator("article")
      .filter({ hasText: "Your password was changed" })
      .filter({ hasText: sofia.email })
    expect(await toSofia.count()).toBeGreaterThanOrEqual(2) // the seed's change and this one
    await shot(inbox.page, "5-dev-inbox", { fullPage: false })
    await inbox.context.close()

    // 6. Read the audit log.
    step(6, "**Admin ▸ Audit log**", "**Event ▸ Password change required**", "**Apply**")
    await admin.page.getByRole("link", { name: "Audit log" }).click()
    await admin.page.getByRole("heading", { name: "Audit log" }).waitFor()
    const rows = admin.page.locator("tbody tr")
    await eventually(async () => {
      const texts = await rows.allInnerTexts()
      expect(texts.some((t) => t.includes("Password changed"))).toBe(true)
    })
    await shot(admin.page, "6a-audit-log")
    await admin.page.getByLabel("Event").selectOption("auth.force_password_change_required")
    await admin.page.getByRole("button", { name: "Apply" }).click()
    await admin.page.waitForURL(/event=auth\.force_password_change_required/)
    // Emma's, from the seed, and Sofia's, from step 3: both by Olivia.
    await eventually(async () => expect(await rows.count()).toBe(2))
    for (const who of [sofia, account("forced")])
      expect(await rows.filter({ has: admin.page.getByTitle(who.identityId) }).count()).toBe(1)
    await shot(admin.page, "6b-audit-log-filtered")
    await admin.context.close()
  })
})

// After the walkthrough, so that its sign-ins don't crowd the screenshots' session lists and
// audit log; Sofia's password is the one she chose in step 4 by then.
describe("the demo tenant", () => {
  it("holds in Kratos what the printed table says, each change audited with its actor, and the deactivation's mails queued", async () => {
    const { identities } = kratosClients(demo.urls)
    const get = async (key: string) =>
      (await identities.getIdentity({ id: account(key).identityId, includeCredential: ["totp"] }))
        .data
    const role = (i: { metadata_public?: unknown }) => (i.metadata_public as { role?: string }).role

    const olivia = await get("superAdmin")
    expect(role(olivia)).toBe("super_admin")
    expect(Object.keys(olivia.credentials ?? {})).toEqual(
      expect.arrayContaining(["password", "totp", "lookup_secret"]),
    )
    expect(role(await get("adminInGrace"))).toBe("admin")
    const priya = await get("adminOverdue")
    expect(role(priya)).toBe("admin")
    expect(Object.keys(priya.credentials ?? {})).not.toContain("totp")
    expect((await get("deactivated")).state).toBe("inactive")
    expect(
      (
        (await get("forced")).metadata_public as {
          force_password_change?: { required?: boolean }
        }
      ).force_password_change?.required,
    ).toBe(true)
    for (const report of ["forced", "active", "deactivated"])
      expect((await get(report)).metadata_admin).toMatchObject({
        manager_id: account("manager").identityId,
      })
    expect((await get("newHire")).state).toBe("active")

    // Every account in the table signs in with its printed password, but Liam (deactivated)
    // and Noah (no password yet); Sofia only with the one she chose in the walkthrough.
    const { frontend } = kratosClients(demo.urls)
    const signIn = async (identifier: string, password: string) => {
      const { data: flow } = await frontend.createNativeLoginFlow()
      return frontend
        .updateLoginFlow({
          flow: flow.id,
          updateLoginFlowBody: { method: "password", identifier, password },
        })
        .then((r) => r.status)
        .catch((err: { response?: { status: number } }) => err.response?.status)
    }
    for (const a of tenant.accounts) {
      if (!a.password) continue
      const password = a.key === "active" ? NEW_PASSWORD : a.password
      expect([a.key, await signIn(a.email, password)]).toEqual([
        a.key,
        a.key === "deactivated" ? 401 : 200,
      ])
    }
    expect(await signIn(account("active").email, account("active").password!)).toBe(400)

    // Noah's printed one-time link names a live recovery flow.
    const link = new URL(tenant.newHireLink!.link)
    expect(link.origin).toBe(new URL(base()).origin)
    const flow = await fetch(
      `${base()}/self-service/recovery/flows?id=${link.searchParams.get("flow")}`,
      { headers: { accept: "application/json" } },
    )
    expect(flow.status).toBe(200)
    expect(tenant.newHireLink!.code).toMatch(/^\d{6,}$/)

    // The gate of each admin without 2FA: Marcus inside his grace period, Priya past hers.
    const gate = async (key: string) => {
      const { data: flow } = await frontend.createNativeLoginFlow()
      const { data } = await frontend.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: {
          method: "password",
          identifier: account(key).email,
          password: account(key).password!,
        },
      })
      const res = await fetch(`${base()}/api/auth/gate`, {
        headers: { "X-Session-Token": data.session_token! },
      })
      return { status: res.status, body: (await res.json()) as Record<string, never> }
    }
    const marcus = await gate("adminInGrace")
    expect(marcus.status).toBe(200)
    expect(new Date(marcus.body.mfa!["deadline"]).getTime()).toBeGreaterThan(Date.now())
    const overdue = await gate("adminOverdue")
    expect([overdue.status, overdue.body.error!["reason"]]).toEqual([
      403,
      "mfa_enrollment_required",
    ])

    const audit = await sql<{ event: string; actor_type: string; actor_id: string | null }[]>`
      select event, actor_type, actor_id from audit_events where event like 'admin.%'
        and event not in ('admin.viewed', 'admin.user_viewed')`
    const by = (event: string) => audit.filter((r) => r.event === event)
    const oliviaId = account("superAdmin").identityId
    expect(
      by("admin.role_changed")
        .map((r) => r.actor_type)
        .sort(),
    ).toEqual(["admin", "system", "system"])
    // Emma, Sofia and Liam get their manager, and Hannah (the open lost-device request) too.
    expect(by("admin.manager_changed")).toHaveLength(4)
    for (const e of ["admin.manager_changed", "admin.user_deactivated", "admin.user_provisioned"])
      for (const r of by(e)) expect(r).toMatchObject({ actor_type: "admin", actor_id: oliviaId })
    const [forced] = await sql<{ actor_id: string }[]>`
      select actor_id from audit_events where event = 'auth.force_password_change_required'`
    expect(forced!.actor_id).toBe(oliviaId)

    const mails = await sql<{ recipient: string }[]>`
      select recipient from notification_outbox where kind like '%deactivated%'`
    expect(mails.map((m) => m.recipient.toLowerCase()).sort()).toEqual(
      [account("manager").email, DEV_SECURITY_TEAM].sort(),
    )
  })

  it("when the seed runs again on the same stack, then it answers the tenant it seeded and adds no one", async () => {
    const { identities } = kratosClients(demo.urls)
    const before = (await identities.listIdentities({ perPage: 100 })).data.length
    const again = await seedDemo({
      serviceUrl: base(),
      apiKey: demo.stack.serviceEnv.KRATOS_WEBHOOK_API_KEY!,
      stateFile,
    })
    expect(again.fresh).toBe(false)
    expect(again.tenant.totpSecret).toBe(tenant.totpSecret)
    expect((await identities.listIdentities({ perPage: 100 })).data.length).toBe(before)
  })
})

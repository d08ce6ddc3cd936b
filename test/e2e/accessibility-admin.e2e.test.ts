import { stepUpTotpInBrowser, useBrowser } from "../harness/browser"
import { closeServiceDb } from "../harness/db"
import { enrolTotp, setRole } from "../harness/flows"
import { registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"
import { auditor } from "../harness/axe"

/** axe-core (test/harness/axe.ts): The admin console. */
const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

afterAll(async () => {
  await closeServiceDb()
})

describe("accessibility (axe-core): no serious or critical violations at 1280 and 390 px", () => {
  it("the admin console: the step-up card, each section, a person's page and every dialog", async () => {
    const admin = await registerNative(uniqueEmail("axe-admin"))
    const { secret } = await enrolTotp(admin.sessionToken)
    await setRole(admin.identityId, "super_admin")
    const member = await registerNative(uniqueEmail("axe-member"))
    await enrolTotp(member.sessionToken)

    const { context, page } = await newPage()
    const a = auditor(page)
    await page.goto(`${base()}/login?return_to=${encodeURIComponent(`${base()}/admin`)}`)
    await page.fill("input[name='identifier']", admin.email)
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.getByRole("heading", { name: "Confirm it's you" }).waitFor()
    await a.check("admin, step-up card")
    await page.getByRole("link", { name: "Continue with two-factor" }).click()
    await stepUpTotpInBrowser(page, secret)

    await page.getByRole("heading", { name: "Team" }).waitFor()
    await a.check("admin, Team")
    await page.getByRole("button", { name: "Add user" }).click()
    const add = page.getByRole("dialog", { name: "Add user" })
    await add.waitFor()
    await a.check("admin, Add user dialog")
    await add.getByLabel("Work email").fill(uniqueEmail("axe-added"))
    await add.getByRole("button", { name: "Create account" }).click()
    const created = page.getByRole("dialog", { name: "Account created" })
    await created.waitFor()
    await a.check("admin, Account created dialog")
    await created.getByRole("button", { name: "Done" }).click()

    await page.goto(`${base()}/admin/users/${member.identityId}`)
    await page.getByRole("heading", { name: member.email }).waitFor()
    await a.check("admin, a person's page")
    for (const [button, dialog] of [
      ["Force change", "Require a password change?"],
      ["Reset 2FA", "Reset two-factor authentication?"],
      ["Revoke sessions", "Sign them out everywhere?"],
    ] as const) {
      await page.getByRole("button", { name: button }).click()
      const open = page.getByRole("dialog", { name: dialog })
      await open.waitFor()
      await a.check(`admin, ${dialog}`)
      await open.getByRole("button", { name: "Cancel" }).click()
      await open.waitFor({ state: "hidden" })
    }

    for (const [path, heading] of [
      ["/admin/compliance", "Compliance"],
      ["/admin/audit", "Audit log"],
      ["/admin/notifications", "Notification failures"],
    ] as const) {
      await page.goto(`${base()}${path}`)
      await page.getByRole("heading", { name: heading }).waitFor()
      await a.check(`admin, ${heading}`)
    }

    expect(a.seen).toHaveLength(11)
    expect(a.found).toEqual([])
    await context.close()
  })
})

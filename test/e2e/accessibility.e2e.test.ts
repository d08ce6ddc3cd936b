import { AxeBuilder } from "@axe-core/playwright"
import type { Page } from "playwright-core"
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
import { enrolTotp, setRole } from "../harness/flows"
import { registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { stackInfo } from "../harness/stack-info"

/**
 * axe-core on every page of the UI and every dialog, at desktop and phone widths: no
 * violation axe rates serious or critical. Each test gathers what it found on all of its
 * pages and compares the list with an empty one, so a failure names every page, rule and
 * element at once.
 */
const WIDTHS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
]

const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

afterAll(async () => {
  await closeServiceDb()
})

/** The serious and critical violations on the page as it is now, at both widths. */
async function audit(page: Page, what: string): Promise<string[]> {
  const found: string[] = []
  const before = page.viewportSize()
  for (const size of WIDTHS) {
    await page.setViewportSize(size)
    const { violations } = await new AxeBuilder({ page }).analyze()
    for (const v of violations) {
      if (v.impact !== "serious" && v.impact !== "critical") continue
      const where = v.nodes.map((n) => n.target.join(" ")).slice(0, 4)
      // The first element's own account (e.g. the colours and the ratio a contrast check found).
      const why = v.nodes[0]?.any[0]?.message ?? ""
      found.push(
        `${what} at ${size.width}px: ${v.id} (${v.impact}) ${v.help}: ${where.join(" | ")} ${why}`.trim(),
      )
    }
  }
  if (before) await page.setViewportSize(before)
  return found
}

/** Checked pages, for the assertion that none was skipped on the way. */
function auditor(page: Page) {
  const found: string[] = []
  const seen: string[] = []
  return {
    found,
    seen,
    async check(what: string) {
      // Whatever the page still had to load or animate (dialogs fade in) has settled.
      await page.waitForLoadState("networkidle")
      await page.evaluate(() => document.fonts.ready.then(() => undefined))
      seen.push(what)
      found.push(...(await audit(page, what)))
    },
  }
}

describe("accessibility (axe-core): no serious or critical violations at 1280 and 390 px", () => {
  it("the signed-out pages: sign-in, registration and its password step, recovery, verification, error and not found", async () => {
    const { context, page } = await newPage()
    const a = auditor(page)

    await page.goto(`${base()}/login`)
    await page.locator("input[name='identifier']").waitFor()
    await a.check("/login")
    await screenshotBothWidths(page, "axe-login")

    await page.goto(`${base()}/registration`)
    await page.locator("input[name='traits.email']").waitFor()
    await a.check("/registration")
    await page.fill("input[name='traits.email']", uniqueEmail("axe-registration"))
    await page.click("button[type=submit]")
    await page.getByRole("button", { name: /^Password/ }).click()
    await page.locator("input[name='password']").waitFor()
    await a.check("/registration, password step")

    await page.goto(`${base()}/recovery`)
    await page.locator("input[name='email']").waitFor()
    await a.check("/recovery")

    await page.goto(`${base()}/verification`)
    await page.locator("input[name='email']").waitFor()
    await a.check("/verification")

    await page.goto(`${base()}/error?id=${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`)
    await page.getByRole("heading").first().waitFor()
    await a.check("/error")

    await page.goto(`${base()}/no-such-page`)
    await page.getByRole("heading", { name: /not found/i }).waitFor()
    await a.check("not found")

    expect(a.seen).toHaveLength(7)
    expect(a.found).toEqual([])
    await context.close()
  })

  it("the Security page through setting up two-factor, with its dialogs, and the Profile and Activity tabs", async () => {
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

    expect(a.seen).toHaveLength(12)
    expect(a.found).toEqual([])
    await context.close()
  })

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

describe("accessibility (axe-core): the Verify it's you dialog", () => {
  // Kratos asks for a recent sign-in before a security change; a few seconds' window lets
  // the test reach "too old" without waiting for the shipped 15 minutes.
  let stack: Awaited<ReturnType<typeof startPrivateStack>>
  beforeAll(async () => {
    stack = await startPrivateStack({
      mutateKratosConfig: (cfg) => {
        const selfservice = cfg.selfservice as { flows: { settings: Record<string, unknown> } }
        selfservice.flows.settings.privileged_session_max_age = "4s"
      },
    })
  })
  afterAll(async () => {
    await stack?.stop()
  })

  it("when a password change needs a fresh sign-in, then the dialog that asks for it has no serious or critical violations", async () => {
    const base = stack.urls.publicUrl
    const { context, page } = await newPage()
    const a = auditor(page)
    await registerInBrowser(page, base, uniqueEmail("axe-reverify"), STRONG_PASSWORD)
    await page.goto(`${base}/settings?tab=security`)
    await page.getByTestId("kg-2fa-status").waitFor()
    await page.waitForTimeout(5_000)
    const password = "Amber-Tide-Orchard-58#"
    await page.getByLabel("New password", { exact: true }).fill(password)
    await page.getByLabel("Confirm new password").fill(password)
    await page.getByRole("button", { name: "Change password" }).click()
    await page.getByRole("dialog", { name: "Verify it's you" }).waitFor()
    await a.check("Security, Verify it's you")
    await screenshotBothWidths(page, "axe-verify-its-you")
    expect(a.seen).toHaveLength(1)
    expect(a.found).toEqual([])
    await context.close()
  })
})

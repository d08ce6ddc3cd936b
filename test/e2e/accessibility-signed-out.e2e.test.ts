import { registerInBrowser, screenshotBothWidths, useBrowser } from "../harness/browser"
import { closeServiceDb } from "../harness/db"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { stackInfo } from "../harness/stack-info"
import { auditor } from "../harness/axe"

/** axe-core (test/harness/axe.ts): The signed-out pages and the Verify it's you dialog. */
const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

afterAll(async () => {
  await closeServiceDb()
})

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

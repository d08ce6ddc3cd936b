import type { Browser, Page } from "playwright-core"
import {
  addVirtualAuthenticator,
  launchBrowser,
  loginInBrowser,
  registerInBrowser,
  screenshot,
} from "../harness/browser"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { setRole } from "../harness/flows"
import { kratosClients, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

// A browser of its own per test (DevTools authenticators are per target), and one logged retry:
// under a loaded CI machine Chromium's WebAuthn has been seen to stall once in a few runs.
jest.retryTimes(1, { logErrorsBeforeRetry: true })

let browser: Browser
beforeEach(async () => {
  browser = await launchBrowser()
})
afterEach(async () => {
  await browser?.close()
})
afterAll(closeServiceDb)

async function webauthnKeys(identityId: string): Promise<number> {
  const { data } = await kratosClients().identities.getIdentity({
    id: identityId,
    includeCredential: ["webauthn"],
  })
  const config = data.credentials?.webauthn?.config as { credentials?: unknown[] } | undefined
  return config?.credentials?.length ?? 0
}

async function auditEvents(identityId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events where subject_id = ${identityId} order by id`
  return rows.map((r) => r.event)
}

/** Registers in the browser and adds one security key from the Security page. */
async function personWithSecurityKey(page: Page) {
  const base = stackInfo().publicUrl
  const email = uniqueEmail("webauthn")
  const authenticator = await addVirtualAuthenticator(page)
  await registerInBrowser(page, base, email, STRONG_PASSWORD)
  await page.goto(`${base}/settings`)
  await page.fill("input[name='webauthn_register_displayname']", "Desk key")
  await page.click("button[name='webauthn_register_trigger']")
  await page.getByRole("button", { name: "Remove security key Desk key" }).waitFor()
  // The 2FA forms render once the page's policy has loaded; a click before the page settles
  // can land on a form that is being replaced.
  await page.waitForLoadState("networkidle")
  expect(await authenticator.credentials()).toBe(1)
  const who = await (await page.context().request.get(`${base}/sessions/whoami`)).json()
  return { email, identityId: who.identity.id as string }
}

describe("security keys and role-based 2FA, in a real browser", () => {
  it("when an admin removes their last security key, then the page shows why it was refused and Kratos keeps the key", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const person = await personWithSecurityKey(page)
    await eventually(async () =>
      expect(await auditEvents(person.identityId)).toContain("auth.webauthn_added"),
    )
    await setRole(person.identityId, "admin")

    // The page still shows the member's view (Remove offered); the service refuses anyway.
    await page.getByRole("button", { name: "Remove security key Desk key" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Remove key" }).click()
    await page
      .getByRole("alert")
      .getByText(/your last security key can't be removed/)
      .waitFor()
    await screenshot(page, "webauthn-last-key-refused")

    expect(await webauthnKeys(person.identityId)).toBe(1)
    expect(await auditEvents(person.identityId)).not.toContain("auth.webauthn_removed")

    // Read again as an admin: no Remove for the only second factor, and the reason instead.
    await page.reload()
    await page.getByTestId("kg-2fa-disable-reason").waitFor()
    expect(await page.getByRole("button", { name: "Remove security key Desk key" }).count()).toBe(0)
    await context.close()
  })

  it("when a member removes their security key, then it is removed and audited", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    // Below jest's timeout, so a slow step fails with its own name.
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const person = await personWithSecurityKey(page)

    // The removal is a form POST to Kratos: wait for it, so a lost click fails here by name.
    await page.getByRole("button", { name: "Remove security key Desk key" }).click()
    await Promise.all([
      page.waitForResponse(
        (r) => r.url().includes("/self-service/settings") && r.request().method() === "POST",
      ),
      page.getByRole("dialog").getByRole("button", { name: "Remove key" }).click(),
    ])
    await page.getByTestId("kg-toast").getByText("Security key removed.").waitFor()
    await eventually(async () => expect(await webauthnKeys(person.identityId)).toBe(0))
    await eventually(async () =>
      expect(await auditEvents(person.identityId)).toEqual(
        expect.arrayContaining(["auth.webauthn_added", "auth.webauthn_removed"]),
      ),
    )
    await context.close()
  })

  it("when a member signs in again, then the security key they registered completes the second step", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const base = stackInfo().publicUrl
    const person = await personWithSecurityKey(page)

    await context.clearCookies()
    await loginInBrowser(page, base, person.email, STRONG_PASSWORD)
    // Settings asks for the highest level the account has: here, the security key.
    await page.goto(`${base}/settings?tab=security`)
    await page.waitForURL(/\/login\?flow=/)
    const trigger = page.locator("button[name='webauthn_login_trigger']")
    const chooser = page.getByText(/security key/i).first()
    await trigger.or(chooser).first().waitFor()
    await screenshot(page, "webauthn-step-up")
    if (!(await trigger.isVisible())) await chooser.click()
    await trigger.click()
    await page.waitForURL(/\/settings/)
    await page.getByTestId("kg-2fa-status").getByText("Enabled").waitFor()

    const who = await (await context.request.get(`${base}/sessions/whoami`)).json()
    expect(who.authenticator_assurance_level).toBe("aal2")
    expect(who.authentication_methods.map((m: { method: string }) => m.method)).toEqual([
      "password",
      "webauthn",
    ])
    await context.close()
  })
})

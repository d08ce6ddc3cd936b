import type { Browser, BrowserContext, Page } from "playwright-core"
import {
  addVirtualAuthenticator,
  enrolTotpInBrowser,
  launchBrowser,
  loginInBrowser,
  registerInBrowser,
  saveRecoveryCodesInBrowser,
  screenshotBothWidths,
} from "../harness/browser"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

// Chromium's WebAuthn has been seen to stall once in a few runs on a loaded machine.
jest.retryTimes(1, { logErrorsBeforeRetry: true })

let browser: Browser
beforeEach(async () => {
  browser = await launchBrowser()
})
afterEach(async () => {
  await browser?.close()
})

const base = () => stackInfo().publicUrl

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(30_000)
  return { context, page: await context.newPage() }
}

async function whoami(context: BrowserContext) {
  const res = await context.request.get(`${base()}/sessions/whoami`)
  return { status: res.status(), body: res.ok() ? await res.json() : null }
}

describe("sign-in tells the truth, in a real browser", () => {
  it("when someone with a passkey opens the login page, then autofill starts once, one login is posted and they land signed in", async () => {
    const { context, page } = await newPage()
    const authenticator = await addVirtualAuthenticator(page, { transport: "internal" })
    await registerInBrowser(page, base(), uniqueEmail("passkey"), STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=security`)
    await page.waitForLoadState("networkidle")
    await Promise.all([
      page.waitForResponse(
        (r) => r.url().includes("/self-service/settings") && r.request().method() === "POST",
      ),
      page.click("button[name='passkey_register_trigger']"),
    ])
    await page.waitForURL(/\/settings/)
    expect(await authenticator.credentials()).toBe(1)

    await context.clearCookies()
    // Counts autofill starts in this tab (across its pages), and every answer to a login post.
    await page.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials)
      navigator.credentials.get = (options?: CredentialRequestOptions) => {
        if (options?.mediation === "conditional") {
          const n = Number(sessionStorage.getItem("conditional-gets") ?? "0")
          sessionStorage.setItem("conditional-gets", String(n + 1))
        }
        return get(options)
      }
    })
    const loginPosts: number[] = []
    page.on("response", (r) => {
      if (r.request().method() === "POST" && r.url().includes("/self-service/login")) {
        loginPosts.push(r.status())
      }
    })
    await page.goto(`${base()}/login`)
    // The virtual authenticator answers the autofill request itself: no click is needed.
    await page.waitForURL(/\/settings/)
    await page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
    await page.waitForLoadState("networkidle")

    expect(await page.evaluate(() => sessionStorage.getItem("conditional-gets"))).toBe("1")
    expect(loginPosts).toEqual([303])
    const session = await whoami(context)
    expect(session.status).toBe(200)
    expect(session.body.authentication_methods.map((m: { method: string }) => m.method)).toEqual([
      "passkey",
    ])
  })

  it("when a deactivated person signs in, then the page says the account is deactivated and Kratos gives no session", async () => {
    const person = await registerNative()
    const { identities } = kratosClients()
    const { data: identity } = await identities.getIdentity({ id: person.identityId })
    await identities.updateIdentity({
      id: person.identityId,
      updateIdentityBody: {
        schema_id: identity.schema_id,
        traits: identity.traits,
        state: "inactive",
      },
    })

    const { context, page } = await newPage()
    await page.goto(`${base()}/login`)
    await page.waitForURL(/\/login\?flow=/)
    await page.fill("input[name='identifier']", person.email)
    await page.fill("input[name='password']", person.password)
    await page.click("button[name='method'][value='password']")
    await page
      .getByRole("alert")
      .getByText(/This account has been deactivated/)
      .waitFor()
    await screenshotBothWidths(page, "login-deactivated")
    expect((await whoami(context)).status).toBe(401)
  })

  it("when a password change elsewhere signs this browser out, then its login page says why", async () => {
    const email = uniqueEmail("signed-out")
    const here = await newPage()
    await registerInBrowser(here.page, base(), email, STRONG_PASSWORD)
    await here.page.goto(`${base()}/settings?tab=security`)
    await here.page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
    await here.page.waitForLoadState("networkidle")

    const elsewhere = await newPage()
    await loginInBrowser(elsewhere.page, base(), email, STRONG_PASSWORD)
    await elsewhere.page.goto(`${base()}/settings?tab=security`)
    await elsewhere.page.getByLabel("New password", { exact: true }).fill("Quiet-Meadow-Falcon-77?")
    await elsewhere.page.getByLabel("Confirm new password").fill("Quiet-Meadow-Falcon-77?")
    await elsewhere.page.getByRole("button", { name: "Change password" }).click()
    await elsewhere.page
      .getByTestId("kg-toast")
      .getByText(/Password changed/)
      .waitFor()
    expect((await whoami(here.context)).status).toBe(401)

    await here.page.goto(`${base()}/settings?tab=security`)
    await here.page.waitForURL(/\/login\?flow=/)
    await here.page
      .getByTestId("kg-signed-out-notice")
      .getByText(/signed out on this device/)
      .waitFor()
    await screenshotBothWidths(here.page, "login-signed-out-elsewhere")

    // Signing out here on purpose is not explained as something that happened elsewhere.
    await loginInBrowser(here.page, base(), email, "Quiet-Meadow-Falcon-77?")
    await here.page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
    await here.page.waitForLoadState("networkidle")
    await here.page.getByRole("button", { name: "Sign out", exact: true }).click()
    await here.page.waitForURL(/\/login/)
    await here.page.waitForURL(/\/login\?flow=/)
    await here.page.locator("input[name='identifier']").waitFor()
    expect(await here.page.getByTestId("kg-signed-out-notice").count()).toBe(0)
  })

  it("when the authenticator app is removed but recovery codes remain, then the page says sign-in still asks for a code, as Kratos does", async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail("codes-only")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)
    await enrolTotpInBrowser(page, base())
    await saveRecoveryCodesInBrowser(page)
    await removeAuthenticatorAppInBrowser(page)
    await page.getByTestId("kg-2fa-status").getByText("Recovery codes only").waitFor()
    await page.getByTestId("kg-2fa-codes-only").waitFor()
    await screenshotBothWidths(page, "security-codes-only")

    // Kratos's own answer: a new sign-in asks for the second step, a recovery code.
    await context.clearCookies()
    await loginInBrowser(page, base(), email, STRONG_PASSWORD)
    await page.waitForURL(/\/login\?.*flow=/)
    await page.locator("input[name='lookup_secret']").waitFor()
    expect((await whoami(context)).body.authenticator_assurance_level).toBe("aal1")
  })

  it("when a member signs out everywhere else, then the toast counts the sessions and the other browser is signed out", async () => {
    const email = uniqueEmail("everywhere")
    const here = await newPage()
    await registerInBrowser(here.page, base(), email, STRONG_PASSWORD)
    const other = await newPage()
    await loginInBrowser(other.page, base(), email, STRONG_PASSWORD)

    await here.page.goto(`${base()}/settings?tab=security`)
    await here.page.getByRole("button", { name: /Sign out everywhere else/ }).click()
    const dialogConfirm = here.page.getByRole("dialog").getByRole("button", { name: /Sign out/ })
    if (await dialogConfirm.isVisible().catch(() => false)) await dialogConfirm.click()
    await here.page.getByTestId("kg-toast").getByText("Signed out of 1 other session.").waitFor()
    expect(await here.page.getByTestId("kg-toast").innerText()).not.toContain("[object Object]")
    expect((await whoami(other.context)).status).toBe(401)
  })
})

/** Removes the authenticator app from the Security page. */
async function removeAuthenticatorAppInBrowser(page: Page) {
  await page.getByRole("button", { name: "Remove authenticator app" }).click()
  await Promise.all([
    page.waitForResponse(
      (r) => r.url().includes("/self-service/settings") && r.request().method() === "POST",
    ),
    page.getByRole("dialog").getByRole("button", { name: "Remove app" }).click(),
  ])
}

import postgres from "postgres"
import type { Page, Response } from "playwright-core"
import { passwordRules } from "../../webhooks/policy/password-rules"
import {
  useBrowser,
  loginInBrowser,
  postFormInBrowser,
  screenshotBothWidths,
} from "../harness/browser"
import { loginPassword } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { stackInfo } from "../harness/stack-info"

const NEW_PASSWORD = "Amber-Orchard-Kettle-58?"
const WRONG_PASSWORD = "Not-The-Password-11!"
/** The stack's LOGIN_MAX_FAILURES_PER_IDENTIFIER (the service's default). */
const MAX_FAILURES = 5

const { newPage } = useBrowser()

const base = () => stackInfo().publicUrl

/** Opens a flow page and waits for Kratos's redirect back with `?flow=`; returns the flow id. */
async function openFlow(page: Page, path: string, at = base()): Promise<string> {
  await page.goto(`${at}${path}`, { waitUntil: "commit" })
  // The page hops through Kratos to get its flow; a hop can abort the one before it, so the
  // address is watched rather than one navigation awaited.
  for (let i = 0; !/[?&]flow=/.test(page.url()); i++) {
    if (i > 300) throw new Error(`no flow in ${page.url()}`)
    await page.waitForTimeout(100)
  }
  await page.locator("input[name=csrf_token]").first().waitFor({ state: "attached" })
  return new URL(page.url()).searchParams.get("flow")!
}

const csrfToken = (page: Page) => page.locator("input[name=csrf_token]").first().inputValue()

/** The proxy's answer to the form post: where it sent the browser. */
function refusalRedirect(page: Page, path: string): Promise<Response> {
  return page.waitForResponse(
    (r) => r.request().method() === "POST" && new URL(r.url()).pathname === path,
  )
}

function query(page: Page): URLSearchParams {
  return new URL(page.url()).searchParams
}

describe("refusals by the proxy, as a browser form post meets them", () => {
  it("when a browser form posts a weak new password to the settings flow, then the Security page says it wasn't changed above the rules, and the notice goes when they try again", async () => {
    const member = await registerNative()
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    const flowId = await openFlow(page, "/settings?tab=security")
    await page.getByTestId("kg-password").waitFor()
    const answer = refusalRedirect(page, "/self-service/settings")
    await postFormInBrowser(page, `${base()}/self-service/settings?flow=${flowId}`, {
      csrf_token: await csrfToken(page),
      method: "password",
      password: "weakpass",
    })
    const redirect = await answer
    expect(redirect.status()).toBe(303)
    expect(redirect.headers().location).toBe(
      `${base()}/settings?flow=${flowId}&password_policy=failed`,
    )

    const notice = page.getByTestId("kg-password-refused")
    await notice.waitFor()
    expect(await notice.innerText()).toBe(
      "Your password wasn't changed. The new password doesn't meet the requirements below. Choose another one.",
    )
    // The rules it points at are the shared ones, right under the field, which has the cursor.
    for (const rule of passwordRules.filter((r) => r.key !== "max_bytes")) {
      expect(await page.locator(`[data-rule=${rule.key}]`).innerText()).toContain(rule.text)
    }
    expect(
      await page
        .getByLabel("New password", { exact: true })
        .evaluate((el) => el === document.activeElement),
    ).toBe(true)
    // Shown once: the parameter left the address, the flow stayed.
    expect(query(page).get("flow")).toBe(flowId)
    expect(query(page).has("password_policy")).toBe(false)
    await screenshotBothWidths(page, "refusal-settings-weak-password")

    // Kratos kept the old password.
    await expect(loginPassword(member.email, "weakpass")).rejects.toThrow()
    await loginPassword(member.email, STRONG_PASSWORD)

    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(/Password changed/)
      .waitFor()
    expect(await notice.count()).toBe(0)
    await loginPassword(member.email, NEW_PASSWORD)
    await context.close()
  })

  it("when the Security page is opened with a password_policy parameter, then tab and reason stay, and sso_required for an organisation without SSO or an unknown value shows nothing", async () => {
    const member = await registerNative()
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    const flowId = await openFlow(page, "/settings?tab=security")
    const notice = page.getByTestId("kg-password-refused")

    await page.goto(
      `${base()}/settings?flow=${flowId}&tab=security&password_policy=failed&reason=mfa_required`,
    )
    await notice.waitFor()
    expect(page.url()).toBe(`${base()}/settings?flow=${flowId}&tab=security&reason=mfa_required`)

    for (const value of ["sso_required", "bogus", "FAILED", "<b>failed</b>", ""]) {
      await page.goto(
        `${base()}/settings?flow=${flowId}&tab=security&password_policy=${encodeURIComponent(value)}`,
      )
      // The security overview has loaded (it decides whether SSO applies).
      await page
        .getByTestId("kg-password")
        .getByText(/^Last changed/)
        .waitFor()
      expect(page.url()).toBe(`${base()}/settings?flow=${flowId}&tab=security`)
      expect(await notice.count()).toBe(0)
    }
    await context.close()
  })

  it("when a browser form posts a weak password to the registration flow, then the card lists the rules, no account is made, and the same flow still registers", async () => {
    const email = uniqueEmail("refused-reg")
    const { context, page } = await newPage()
    const flowId = await openFlow(page, "/registration")
    const answer = refusalRedirect(page, "/self-service/registration")
    await postFormInBrowser(page, `${base()}/self-service/registration?flow=${flowId}`, {
      csrf_token: await csrfToken(page),
      method: "password",
      password: "weakpass",
      "traits.email": email,
    })
    const redirect = await answer
    expect(redirect.status()).toBe(303)
    expect(redirect.headers().location).toBe(
      `${base()}/registration?flow=${flowId}&password_policy=failed`,
    )

    const message = page.getByTestId("ory/message/4100000")
    await message.waitFor()
    expect(await message.locator("li").allInnerTexts()).toEqual(passwordRules.map((r) => r.text))
    await message.getByText("That password wasn't accepted.").waitFor()
    expect(page.url()).toBe(`${base()}/registration?flow=${flowId}`)
    await screenshotBothWidths(page, "refusal-registration-weak-password")

    const { identities } = kratosClients()
    const none = await identities.listIdentities({ credentialsIdentifier: email })
    expect(none.data).toHaveLength(0)

    // Trying again clears the message (elements replaces the flow with Kratos's answer).
    await page.fill("input[name='traits.email']", email)
    await page.click("button[type=submit]")
    await page.getByRole("button", { name: /^Password/ }).click()
    expect(await message.count()).toBe(0)
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.waitForURL(/\/verification\?flow=/)
    const made = await identities.listIdentities({ credentialsIdentifier: email })
    expect(made.data).toHaveLength(1)
    await context.close()
  })

  it("when someone keeps guessing a password with browser form posts, then the login page shows the block with a countdown and holds the password submit back, as it does for a JSON sign-in", async () => {
    const member = await registerNative()
    const { context, page } = await newPage()

    const post = async () => {
      const flowId = await openFlow(page, "/login")
      const answer = refusalRedirect(page, "/self-service/login")
      await postFormInBrowser(page, `${base()}/self-service/login?flow=${flowId}`, {
        csrf_token: await csrfToken(page),
        method: "password",
        identifier: member.email,
        password: WRONG_PASSWORD,
      })
      return { flowId, location: new URL((await answer).headers().location!, base()) }
    }
    for (let i = 0; i < MAX_FAILURES; i++) {
      const { location } = await post()
      // Kratos's own answer to a wrong password: back to the form.
      expect(location.pathname).toBe("/login")
      expect(location.searchParams.has("throttled")).toBe(false)
    }
    const { flowId, location } = await post()
    expect(location.pathname).toBe("/login")
    expect(location.searchParams.get("flow")).toBe(flowId)
    const seconds = Number(location.searchParams.get("throttled"))
    expect(seconds).toBeGreaterThan(50)
    expect(seconds).toBeLessThanOrEqual(60)

    const message = page.getByTestId("ory/message/4100020")
    await message.waitFor()
    expect(await message.innerText()).toMatch(
      /^Too many failed attempts\. Try again in (1 minute|[1-5]?[0-9] seconds)\.$/,
    )
    const submit = page.locator("button[name='method'][value='password']")
    expect(await submit.isDisabled()).toBe(true)
    expect(page.url()).toBe(`${base()}/login?flow=${flowId}`)
    await screenshotBothWidths(page, "refusal-login-throttled")

    // The message is true: Kratos is not even asked, the right password is refused too.
    await expect(loginPassword(member.email, STRONG_PASSWORD)).rejects.toThrow()

    // A JSON sign-in through elements gets the same box and the same held-back submit.
    const other = await newPage()
    await openFlow(other.page, "/login")
    await other.page.fill("input[name='identifier']", member.email)
    await other.page.fill("input[name='password']", STRONG_PASSWORD)
    await other.page.click("button[name='method'][value='password']")
    const jsonMessage = other.page.getByTestId("ory/message/4100020")
    await jsonMessage.waitFor()
    expect(await jsonMessage.innerText()).toMatch(/^Too many failed attempts\. Try again in /)
    expect(await other.page.locator("button[name='method'][value='password']").isDisabled()).toBe(
      true,
    )
    await other.context.close()
    await context.close()
  })

  it("when the login page is opened with a throttled parameter, then it counts down, lets the person try again when it ends, clamps huge values and ignores bad ones", async () => {
    const { context, page } = await newPage()
    const flowId = await openFlow(page, "/login")
    const message = page.getByTestId("ory/message/4100020")
    const submit = page.locator("button[name='method'][value='password']")

    await page.goto(`${base()}/login?flow=${flowId}&throttled=3&return_to=%2Fsettings`)
    await message.waitFor()
    expect(await message.innerText()).toMatch(
      /^Too many failed attempts\. Try again in [1-3] seconds?\.$/,
    )
    expect(await submit.isDisabled()).toBe(true)
    expect(new URL(page.url()).search).toBe(`?flow=${flowId}&return_to=%2Fsettings`)
    await message.getByText("You can try again now.").waitFor({ timeout: 6_000 })
    expect(await message.getAttribute("data-state")).toBe("over")
    expect(await submit.isEnabled()).toBe(true)
    await screenshotBothWidths(page, "refusal-login-block-over")

    await page.goto(`${base()}/login?flow=${flowId}&throttled=99999999999999`)
    await message.waitFor()
    expect(await message.innerText()).toBe("Too many failed attempts. Try again in 1440 minutes.")

    for (const value of ["abc", "-5", "0", "1e3", "12.5", " 30", "0x10", "<img src=x>"]) {
      await page.goto(`${base()}/login?flow=${flowId}&throttled=${encodeURIComponent(value)}`)
      await page.locator("input[name='identifier']").waitFor()
      expect(page.url()).toBe(`${base()}/login?flow=${flowId}`)
      expect(await message.count()).toBe(0)
      expect(await submit.isEnabled()).toBe(true)
    }
    await context.close()
  })

  it("when the organisation signs in with SSO only and a browser form posts a new password, then the Security page's SSO note says it wasn't changed, and Kratos kept the old one", async () => {
    // A stack of its own: the policy is the whole organisation's, and the shared stack's other
    // tests change passwords.
    const own = await startPrivateStack()
    try {
      const at = own.urls.publicUrl
      // Set before the stack serves anything that reads the policy, so the short cache the
      // proxy reads it through starts with it (no waiting for an old entry to expire).
      const sql = postgres(own.serviceDatabaseUrl, { max: 1, onnotice: () => {} })
      try {
        await sql`insert into org_policy (id, sso_required) values ('default', true)
          on conflict (id) do update set sso_required = true`
      } finally {
        await sql.end({ timeout: 2 })
      }
      const member = await registerNative(uniqueEmail("sso"), STRONG_PASSWORD, own.urls)

      const { context, page } = await newPage()
      await loginInBrowser(page, at, member.email, STRONG_PASSWORD)
      const flowId = await openFlow(page, "/settings?tab=security", at)
      const note = page.getByTestId("kg-sso-note")
      await note.waitFor()
      const answer = refusalRedirect(page, "/self-service/settings")
      await postFormInBrowser(page, `${at}/self-service/settings?flow=${flowId}`, {
        csrf_token: await csrfToken(page),
        method: "password",
        password: NEW_PASSWORD,
      })
      const redirect = await answer
      expect(redirect.status()).toBe(303)
      expect(redirect.headers().location).toBe(
        `${at}/settings?flow=${flowId}&password_policy=sso_required`,
      )

      await note.getByTestId("kg-password-refused").waitFor()
      expect(await note.getByTestId("kg-password-refused").innerText()).toBe(
        "Your password wasn't changed.",
      )
      expect(await note.innerText()).toContain("locked password changes")
      expect(await page.getByTestId("kg-password").count()).toBe(0)
      expect(page.url()).toBe(`${at}/settings?flow=${flowId}`)
      await screenshotBothWidths(page, "refusal-settings-sso-required")

      const { frontend } = kratosClients(own.urls)
      const signIn = async (password: string) => {
        const { data: flow } = await frontend.createNativeLoginFlow()
        return frontend.updateLoginFlow({
          flow: flow.id,
          updateLoginFlowBody: { method: "password", identifier: member.email, password },
        })
      }
      await expect(signIn(NEW_PASSWORD)).rejects.toThrow()
      expect((await signIn(STRONG_PASSWORD)).data.session_token).toBeTruthy()
      await context.close()
    } finally {
      await own.stop()
    }
  })
})

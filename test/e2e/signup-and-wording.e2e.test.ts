import type { Page } from "playwright-core"
import { loginInBrowser, screenshotBothWidths, useBrowser } from "../harness/browser"
import { enrolRecoveryCodes, enrolTotp, totpCode } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const base = () => stackInfo().publicUrl
const { newPage } = useBrowser()

/** Elements' default English texts that read wrong for this product. */
const ORY_TEXTS = [
  "LastPass and Google Authenticator",
  "Use your device's for fingerprint",
  "Enter your password associated with your account",
  "8-digit",
  "Reauthenticate",
]

async function oryTextsOn(page: Page): Promise<string[]> {
  const text = await page.locator("body").innerText()
  return ORY_TEXTS.filter((t) => text.includes(t))
}

/** The sign-up form up to its password field, for `email`. */
async function openSignupPassword(page: Page, email: string) {
  await page.goto(`${base()}/registration`)
  await page.fill("input[name='traits.email']", email)
  await page.click("button[type=submit]")
  await page.getByRole("button", { name: /^Password/ }).waitFor()
  expect(await oryTextsOn(page)).toEqual([])
  await page.getByRole("button", { name: /^Password/ }).click()
}

const ruleStates = (page: Page) =>
  page
    .getByTestId("kg-rules")
    .locator("li")
    .evaluateAll((items) =>
      Object.fromEntries(items.map((li) => [li.dataset.rule, li.dataset.state])),
    )

async function identityExists(email: string): Promise<boolean> {
  const { identities } = kratosClients()
  const { data } = await identities.listIdentities({ credentialsIdentifier: email })
  return data.length > 0
}

describe("sign-up shows the password rules as they are typed, in our own words", () => {
  it("when someone types a weak password, then the checklist follows each key, a refused sign-up keeps what was typed, and a fixed one goes through", async () => {
    const { page } = await newPage()
    const email = uniqueEmail("signup-rules")
    await openSignupPassword(page, email)
    const password = page.locator("input[name='password']")
    expect(await ruleStates(page)).toEqual({
      min_length: "pending",
      uppercase: "pending",
      digit: "pending",
      symbol: "pending",
    })
    expect(await password.getAttribute("aria-describedby")).toBe(
      await page.getByTestId("kg-rules").getAttribute("id"),
    )

    await password.pressSequentially("harbour7")
    expect(await ruleStates(page)).toEqual({
      min_length: "pending",
      uppercase: "pending",
      digit: "ok",
      symbol: "pending",
    })
    await password.pressSequentially("lantern")
    expect((await ruleStates(page)).min_length).toBe("ok")

    // The proxy refuses it before Kratos sees it; the field keeps the typed password.
    await Promise.all([
      page.waitForResponse(
        (r) => r.url().includes("/self-service/registration") && r.request().method() === "POST",
      ),
      page.click("button[name='method'][value='password']"),
    ])
    await page.locator("[data-rule='uppercase'][data-state='failing']").waitFor()
    expect(await ruleStates(page)).toEqual({
      min_length: "ok",
      uppercase: "failing",
      digit: "ok",
      symbol: "failing",
    })
    expect(await password.inputValue()).toBe("harbour7lantern")
    // The checklist says it; the rules are not repeated as lines of text under it.
    expect(await page.getByText("At least one uppercase letter").count()).toBe(1)
    expect(await identityExists(email)).toBe(false)
    await screenshotBothWidths(page, "signup-password-refused")

    await password.fill("Harbour7-lantern")
    expect(await ruleStates(page)).toEqual({
      min_length: "ok",
      uppercase: "ok",
      digit: "ok",
      symbol: "ok",
    })
    await page.click("button[name='method'][value='password']")
    await page.waitForURL(/\/verification\?flow=/)
    expect(await identityExists(email)).toBe(true)
  })

  it("when a person with an app and recovery codes signs in, then the second step and the re-verification use our words, not Ory's", async () => {
    const member = await registerNative(uniqueEmail("wording"))
    const { secret } = await enrolTotp(member.sessionToken)
    await enrolRecoveryCodes(member.sessionToken)
    const { page } = await newPage()

    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/self-service/login/browser?aal=aal2`)
    const recovery = page.getByText("Backup recovery code", { exact: true })
    await recovery.waitFor()
    expect(await page.getByText("Authenticator app", { exact: true }).count()).toBe(1)
    expect(await oryTextsOn(page)).toEqual([])
    await screenshotBothWidths(page, "login-second-step-methods")
    await recovery.click()
    await page.getByText("Enter one of the 8-character recovery codes you saved").waitFor()
    expect(await oryTextsOn(page)).toEqual([])

    // Back to the choice (the same flow, loaded again), and the app's code to finish.
    await page.reload()
    await page.getByText("Authenticator app", { exact: true }).click()
    await page.fill("input[name='totp_code']", totpCode(secret))
    await page.click("button[name='method'][value='totp']")
    await page.waitForURL(/\/settings/)

    await page.goto(`${base()}/self-service/login/browser?refresh=true`)
    await page.getByRole("heading", { name: "Verify it's you" }).waitFor()
    expect(await oryTextsOn(page)).toEqual([])
    await screenshotBothWidths(page, "login-refresh")

    // The Security page's own two-factor area (and the profile form) name no vendor of Ory's.
    for (const tab of ["security", "profile"]) {
      await page.goto(`${base()}/settings?tab=${tab}`)
      await page.getByRole("heading", { level: 1 }).waitFor()
      await page.waitForLoadState("networkidle")
      expect(await oryTextsOn(page)).toEqual([])
    }
  })
})

import type { Browser } from "playwright-core"
import { launchBrowser, screenshot } from "../harness/browser"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

describe("the UI on the one public origin", () => {
  it("when a new person registers, signs out and signs in again, then they land on the Security page signed in", async () => {
    const base = stackInfo().publicUrl
    const email = uniqueEmail("e2e")
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()

    await page.goto(`${base}/registration`)
    await page.fill("input[name='traits.email']", email)
    await page.fill("input[name='traits.name.first']", "Ada")
    await page.click("button[type=submit]")
    // elements-react asks for the method first, then the password.
    await page.getByRole("button", { name: /^Password/ }).click()
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.waitForURL(/\/verification\?flow=/)
    await screenshot(page, "foundation-after-registration")

    await page.goto(`${base}/logout`)
    await page.waitForURL(/\/login\?flow=/)
    // The context's request client shares the browser's cookies.
    const afterLogout = await context.request.get(`${base}/sessions/whoami`)
    expect(afterLogout.status()).toBe(401)

    await page.fill("input[name='identifier']", email)
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.waitForURL(/\/settings/)
    await page.getByRole("heading", { name: "Security" }).waitFor()
    await page.getByText(email).first().waitFor()
    await screenshot(page, "foundation-settings")

    const who = await (await context.request.get(`${base}/sessions/whoami`)).json()
    expect(who.identity.traits.email).toBe(email)
    expect(who.authenticator_assurance_level).toBe("aal1")
    await context.close()
  })
})

import type { Browser, Page } from "playwright-core"
import { generateSync } from "otplib"
import { launchBrowser, registerInBrowser, screenshotBothWidths } from "../harness/browser"
import { credentialTypes } from "../harness/flows"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

const base = () => stackInfo().publicUrl

/** Tab from the first control of the 2FA area; the accessible names in the order focus went. */
async function tabOrder(page: Page, stopAt: string): Promise<string[]> {
  await page.getByTestId("kg-2fa-area").locator("button, input, a[href]").first().focus()
  const seen: string[] = []
  for (let i = 0; i < 20; i++) {
    const name = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null
      return el
        ? (el.getAttribute("aria-label") ?? el.textContent ?? "").trim() ||
            el.getAttribute("placeholder") ||
            ""
        : ""
    })
    seen.push(name)
    if (name === stopAt) break
    await page.keyboard.press("Tab")
  }
  return seen
}

describe("the two-factor area, built on the settings flow, in a real browser", () => {
  it("a member sets up the app with the full key and an otpauth link, saves codes shown once, tabs through it in visual order, and disables 2FA after confirming", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(30_000)
    const page = await context.newPage()
    const email = uniqueEmail("two-factor")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)
    const who = await (await context.request.get(`${base()}/sessions/whoami`)).json()
    const identityId = who.identity.id as string

    await page.goto(`${base()}/settings?tab=security`)
    await page.getByTestId("kg-method-totp").getByRole("button", { name: "Set up" }).click()
    const secret = (await page.getByTestId("kg-totp-secret").innerText()).trim()
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    const link = new URL((await page.getByTestId("kg-totp-link").getAttribute("href"))!)
    expect(link.protocol).toBe("otpauth:")
    expect(link.searchParams.get("secret")).toBe(secret)
    expect(decodeURIComponent(link.pathname)).toContain(email)
    expect(await page.getByRole("img", { name: /QR code/ }).isVisible()).toBe(true)

    await page.getByLabel("Enter the 6-digit code the app shows").fill(generateSync({ secret }))
    await page.getByRole("button", { name: "Verify and turn on" }).click()
    // A first second factor: the recovery codes come next, shown once.
    const once = page.getByTestId("kg-codes-once")
    await once.waitFor()
    const codes = await page.getByTestId("kg-codes").locator("li").allInnerTexts()
    expect(codes).toHaveLength(12)
    expect(await credentialTypes(identityId)).not.toContain("lookup_secret")
    await page.getByRole("button", { name: "I've saved them" }).click()
    await page.getByTestId("kg-codes-left").getByText("12 of 12 left").waitFor()
    expect(await once.count()).toBe(0)
    expect(await page.getByText(codes[0]!.trim()).count()).toBe(0)
    expect(await credentialTypes(identityId)).toEqual(
      expect.arrayContaining(["totp", "lookup_secret"]),
    )

    // Focus moves through the area in the order it reads, top to bottom.
    const order = await tabOrder(page, "Disable 2FA")
    expect(order).toEqual([
      "Remove authenticator app",
      "Regenerate recovery codes",
      "Turn off recovery codes",
      "Name, e.g. Blue USB key",
      "Add security key",
      "Add passkey",
      "Disable 2FA",
    ])
    await screenshotBothWidths(page, "two-factor-area-enabled")

    // A Remove acts only after the confirmation; Cancel leaves everything as it was.
    await page.getByRole("button", { name: "Remove authenticator app" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click()
    expect(await credentialTypes(identityId)).toContain("totp")

    await page.getByRole("button", { name: "Disable 2FA" }).click()
    await screenshotBothWidths(page, "two-factor-area-confirm-disable")
    await page.getByRole("dialog").getByRole("button", { name: "Disable 2FA" }).click()
    await page.getByTestId("kg-2fa-status").getByText("Disabled").waitFor()
    const left = await credentialTypes(identityId)
    expect(left).not.toContain("totp")
    expect(left).not.toContain("lookup_secret")
    await context.close()
  })
})

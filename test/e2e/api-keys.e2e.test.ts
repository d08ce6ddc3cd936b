import { mkdirSync } from "node:fs"
import path from "node:path"
import type { Page } from "playwright-core"
import request from "supertest"
import {
  loginInBrowser,
  registerInBrowser,
  SCREENSHOT_DIR,
  screenshotBothWidths,
  useBrowser,
} from "../harness/browser"
import { enrolTotp, setRole, totpCode } from "../harness/flows"
import { registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

/** The card alone, at desktop and phone widths, for a person to look at. */
async function cardShots(page: Page, name: string) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  for (const [width, suffix] of [
    [1280, "desktop"],
    [390, "mobile"],
  ] as const) {
    await page.setViewportSize({ width, height: 900 })
    await page
      .getByTestId("kg-api-keys")
      .screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-card-${suffix}.png`) })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

describe("Keys for devices on the Security page, in Chromium", () => {
  it("a person creates a key, sees it once, uses it at the gate, and revokes it", async () => {
    const { context, page } = await newPage()
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base() })
    const email = uniqueEmail("keys")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=security`)
    const card = page.getByTestId("kg-api-keys")
    await card.getByText("You have no keys.").waitFor()
    await cardShots(page, "api-keys-empty")

    await card.getByRole("button", { name: "Create key" }).click()
    // An empty name is caught here, under the field.
    await card.getByTestId("kg-api-key-form").getByRole("button", { name: "Create key" }).click()
    await card.getByText("Give the key a name").waitFor()
    await card.getByLabel("Name").fill("Front desk kiosk")
    await card.getByLabel("Expires").selectOption("30")
    await cardShots(page, "api-keys-form")
    await card.getByTestId("kg-api-key-form").getByRole("button", { name: "Create key" }).click()

    const shown = card.getByTestId("kg-api-key-value")
    await shown.waitFor()
    const key = (await shown.textContent())!.trim()
    expect(key).toMatch(/^kg_[0-9a-f]{16}_[0-9a-f]{64}$/)
    await card.getByRole("button", { name: "Copy key" }).click()
    await card.getByRole("button", { name: "Copied" }).waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
    await cardShots(page, "api-keys-new")
    await screenshotBothWidths(page, "security-api-key-new")

    // The key works at the gate as this person.
    const gate = await request(base()).get("/api/auth/gate").set("Authorization", `Bearer ${key}`)
    expect(gate.status).toBe(200)
    expect(gate.headers["x-authenticator-assurance-level"]).toBe("api_key")

    // Once dismissed, and after a reload, the key is nowhere on the page.
    await card.getByRole("button", { name: "I've saved it" }).click()
    await page.reload()
    const item = card.getByTestId("kg-api-key")
    await item.getByText("Front desk kiosk").waitFor()
    await item.getByText(/Last used .* from /).waitFor()
    expect(await page.content()).not.toContain(key.slice(20))
    expect(await item.textContent()).toContain(key.slice(0, 19))
    await cardShots(page, "api-keys-list")

    // In another browser the person sees the key's name, never the key.
    const other = await newPage()
    await loginInBrowser(other.page, base(), email, STRONG_PASSWORD)
    await other.page.goto(`${base()}/settings?tab=security`)
    await other.page.getByTestId("kg-api-key").getByText("Front desk kiosk").waitFor()
    expect(await other.page.content()).not.toContain(key.slice(20))
    await other.context.close()

    // Revoke, behind a confirmation.
    await item.getByRole("button", { name: "Revoke the key Front desk kiosk" }).click()
    const dialog = page.getByRole("dialog", { name: "Revoke “Front desk kiosk”?" })
    await dialog.waitFor()
    await screenshotBothWidths(page, "security-api-key-revoke")
    await dialog.getByRole("button", { name: "Revoke key" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(/revoked/)
      .waitFor()
    await card.getByText("You have no keys.").waitFor()
    const after = await request(base()).get("/api/auth/gate").set("Authorization", `Bearer ${key}`)
    expect(after.status).toBe(401)
    expect(after.body.error.reason).toBe("api_key_revoked")

    await page.goto(`${base()}/settings?tab=activity`)
    await page.getByText("API key revoked: Front desk kiosk").waitFor()
    await page.getByText("API key created: Front desk kiosk").waitFor()
    await context.close()
  })

  it("an admin makes a key for a person on their console page, sees it once, and revokes it", async () => {
    const admin = await registerNative(uniqueEmail("keyadmin"))
    const { secret } = await enrolTotp(admin.sessionToken)
    await setRole(admin.identityId, "admin")
    const member = await registerNative(uniqueEmail("kiosk-owner"))
    const { context, page } = await newPage()
    const at = `${base()}/admin/users/${member.identityId}`
    await page.goto(`${base()}/login?return_to=${encodeURIComponent(at)}`)
    await page.fill("input[name='identifier']", admin.email)
    await page.fill("input[name='password']", STRONG_PASSWORD)
    await page.click("button[name='method'][value='password']")
    await page.waitForURL((url) => url.pathname.startsWith("/admin"))
    await page.getByRole("link", { name: "Continue with two-factor" }).click()
    await page.waitForURL(/\/login\?/)
    await page.fill("input[name='totp_code']", totpCode(secret))
    await page.click("button[name='method'][value='totp']")
    await page.waitForURL((url) => url.pathname.startsWith("/admin"))

    const card = page.getByTestId("kg-api-keys")
    await card.getByText(`Each key acts as ${member.email}.`).waitFor()
    await card.getByRole("button", { name: "Create key" }).click()
    await card.getByLabel("Name").fill("Scanner 3")
    await card.getByLabel("Expires").selectOption("never")
    await card.getByTestId("kg-api-key-form").getByRole("button", { name: "Create key" }).click()
    const key = (await card.getByTestId("kg-api-key-value").textContent())!.trim()
    const gate = await request(base()).get("/api/auth/gate").set("Authorization", `Bearer ${key}`)
    expect(gate.headers["x-identity-id"]).toBe(member.identityId)
    await cardShots(page, "admin-api-keys-new")
    await card.getByRole("button", { name: "I've saved it" }).click()
    await card.getByTestId("kg-api-key").getByText("Never expires", { exact: false }).waitFor()
    await screenshotBothWidths(page, "admin-user-api-keys")

    await card.getByRole("button", { name: "Revoke the key Scanner 3" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click()
    await card.getByText("No keys.").waitFor()
    const after = await request(base()).get("/api/auth/gate").set("Authorization", `Bearer ${key}`)
    expect(after.status).toBe(401)
    await context.close()
  })
})

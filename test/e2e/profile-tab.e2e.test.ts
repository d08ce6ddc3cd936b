import { loginInBrowser, screenshotBothWidths, useBrowser } from "../harness/browser"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const base = () => stackInfo().publicUrl
const { newPage } = useBrowser()

async function traitsOf(identityId: string) {
  const { data } = await kratosClients().identities.getIdentity({ id: identityId })
  return data.traits as { email: string; name?: { first?: string; last?: string } }
}

describe("the Profile tab is one of the page's own cards", () => {
  it("when a member saves a new name and then a new email, then each is saved in Kratos, the tab stays put and the app's own toast says so", async () => {
    const member = await registerNative(uniqueEmail("profile"))
    const { page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=profile`)

    const card = page.getByTestId("kg-profile")
    await card.getByRole("heading", { name: "Your details", level: 2 }).waitFor()
    // One card, one heading style: no elements card (or its toaster) inside ours.
    expect(await card.locator("[data-testid='ory/card'], .kg-section .kg-section").count()).toBe(0)
    expect(await card.getByLabel("Email").inputValue()).toBe(member.email)
    await screenshotBothWidths(page, "profile-tab")

    await card.getByLabel("First name").fill("Ada")
    await card.getByLabel("Last name").fill("Lovelace")
    await card.getByRole("button", { name: "Save" }).click()
    await page.getByTestId("kg-toast").getByText("Profile saved.", { exact: true }).waitFor()
    expect(new URL(page.url()).searchParams.get("tab")).toBe("profile")
    expect(await page.locator("[data-sonner-toaster], [data-sonner-toast]").count()).toBe(0)
    expect((await traitsOf(member.identityId)).name).toEqual({ first: "Ada", last: "Lovelace" })

    // A new address (the sign-in is recent, so Kratos takes it at once) is to be verified.
    const renamed = uniqueEmail("profile-new")
    await card.getByLabel("Email").fill(renamed)
    await card.getByRole("button", { name: "Save" }).click()
    await page
      .getByTestId("kg-toast")
      .getByText(`Profile saved. We sent a message to ${renamed} to verify the new address.`)
      .waitFor()
    expect((await traitsOf(member.identityId)).email).toBe(renamed)

    await page.reload()
    expect(await card.getByLabel("First name").inputValue()).toBe("Ada")
    expect(await card.getByLabel("Email").inputValue()).toBe(renamed)
  })

  it("when a member enters an email that is not an address, then Kratos's message shows under it and nothing changes", async () => {
    const member = await registerNative(uniqueEmail("profile-bad"))
    const { page } = await newPage()
    await loginInBrowser(page, base(), member.email, STRONG_PASSWORD)
    await page.goto(`${base()}/settings?tab=profile`)
    const card = page.getByTestId("kg-profile")
    await card.getByLabel("Email").fill("not-an-address")
    await card.getByRole("button", { name: "Save" }).click()
    await card.locator(".kg-field__error").first().waitFor()
    expect(await card.getByLabel("Email").getAttribute("aria-invalid")).toBe("true")
    expect(await card.getByLabel("Email").inputValue()).toBe("not-an-address")
    expect((await traitsOf(member.identityId)).email).toBe(member.email)
    await screenshotBothWidths(page, "profile-tab-invalid")
  })
})

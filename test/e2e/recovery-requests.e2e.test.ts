import type { Page } from "playwright-core"
import request from "supertest"
import {
  enrolTotpInBrowser,
  loginInBrowser,
  screenshotBothWidths,
  useBrowser,
} from "../harness/browser"
import { eventually } from "../harness/eventually"
import { enrolTotp, setRole, staff, totpCode } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { kratosState } from "../harness/kratos-state"
import { stackInfo } from "../harness/stack-info"

/**
 * Lost-device recovery in Chromium: the person's path from the second sign-in step to a new
 * authenticator, and the admins' queue (deny with a note, approve), against the real stack.
 */

const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl

/** Someone with TOTP and a verified address, who is about to lose their phone. */
async function personWithTotp(prefix: string) {
  const user = await registerNative(uniqueEmail(prefix))
  await enrolTotp(user.sessionToken)
  await kratosClients().identities.patchIdentity({
    id: user.identityId,
    jsonPatch: [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }],
  })
  return user
}

async function codeMails(email: string): Promise<{ text: string }[]> {
  const res = await fetch(stackInfo().mailMessagesUrl!)
  const all = (await res.json()) as { to: string[]; subject: string; text: string }[]
  return all.filter((m) => m.to.includes(email) && /code for a lost-device/.test(m.subject))
}

/** The newest lost-device code mailed to this address after `before` of them. */
async function newCode(email: string, before: number): Promise<string> {
  return eventually(async () => {
    const mails = await codeMails(email)
    if (mails.length <= before) throw new Error("no code yet")
    return /Your code is (\d{6})/.exec(mails[0]!.text)![1]!
  })
}

/** Files a request with the API as a person at AAL1 (for the admins' side). */
async function filedRequest(prefix: string, reason: string) {
  const person = await personWithTotp(prefix)
  const { data } = await kratosClients().frontend.createNativeLoginFlow()
  const { data: login } = await kratosClients().frontend.updateLoginFlow({
    flow: data.id,
    updateLoginFlowBody: {
      method: "password",
      identifier: person.email,
      password: STRONG_PASSWORD,
    },
  })
  const token = login.session_token!
  const as = { "X-Session-Token": token }
  const before = (await codeMails(person.email)).length
  await request(base()).post("/api/me/recovery-request/code").set(as).expect(202)
  const code = await newCode(person.email, before)
  await request(base()).post("/api/me/recovery-request").set(as).send({ code, reason }).expect(201)
  return person
}

/** An admin signs in through the UI (password, then the authenticator) on the queue page. */
async function adminOnQueue(page: Page, role: "admin" | "super_admin") {
  const admin = await registerNative(uniqueEmail("queue-admin"))
  const { secret } = await enrolTotp(admin.sessionToken)
  await setRole(admin.identityId, role)
  const at = `${base()}/admin/recovery`
  await page.goto(`${base()}/login?return_to=${encodeURIComponent(at)}`)
  await page.fill("input[name='identifier']", admin.email)
  await page.fill("input[name='password']", STRONG_PASSWORD)
  await page.click("button[name='method'][value='password']")
  await page.waitForURL(/aal=aal2|\/admin/)
  if (!page.url().includes("/admin")) {
    await page.fill("input[name='totp_code']", totpCode(secret))
    await page.click("button[name='method'][value='totp']")
  } else {
    await page.getByRole("link", { name: "Continue with two-factor" }).click()
    await page.waitForURL(/\/login\?/)
    await page.fill("input[name='totp_code']", totpCode(secret))
    await page.click("button[name='method'][value='totp']")
  }
  await page.waitForURL((url) => url.pathname.startsWith("/admin/recovery"))
  return admin
}

describe("lost-device recovery in Chromium", () => {
  it("a person at the second step asks with the mailed code, waits, is approved and sets up a new authenticator", async () => {
    const person = await personWithTotp("lost")
    const { context, page } = await newPage()
    await loginInBrowser(page, base(), person.email, STRONG_PASSWORD)
    // The Security page sends an AAL1 session with a second factor to the second step, whose
    // flow (requested_aal aal2) alone shows the link.
    await page.waitForURL(/\/login\?flow=/)
    const link = page.getByTestId("kg-lost-device-link")
    await link.waitFor()
    await screenshotBothWidths(page, "login-aal2-lost-device")
    await link.click()
    await page.waitForURL(/\/lost-device$/)
    const card = page.getByTestId("kg-lost-device")
    await card.getByRole("button", { name: "Email me a code" }).waitFor()
    await screenshotBothWidths(page, "lost-device-start")

    const before = (await codeMails(person.email)).length
    await card.getByRole("button", { name: "Email me a code" }).click()
    await card.getByText(/We sent a code to .•••@example\.com/).waitFor()
    const code = await newCode(person.email, before)
    // A wrong code is caught under the field, with the tries left.
    await card.getByLabel("Code from the email").fill(code === "000000" ? "111111" : "000000")
    await card.getByLabel("What happened?").fill("My phone fell in the canal on the way to work.")
    await card.getByRole("button", { name: "Send request" }).click()
    await card.getByText(/not right or has expired \(4 tries left\)/).waitFor()
    await card.getByLabel("Code from the email").fill(code)
    await screenshotBothWidths(page, "lost-device-form")
    await card.getByRole("button", { name: "Send request" }).click()
    await page.getByTestId("kg-lost-waiting").waitFor()
    await screenshotBothWidths(page, "lost-device-waiting")

    // An admin approves (the API; the console is the next test).
    const admin = await staff("admin")
    const queue = await request(base())
      .get("/api/admin/recovery-requests")
      .set("X-Session-Token", admin.token)
    const mine = queue.body.items.find(
      (i: { person: { id: string } | null }) => i.person?.id === person.identityId,
    )
    await request(base())
      .post(`/api/admin/recovery-requests/${mine.id}/approve`)
      .set("X-Session-Token", admin.token)
      .expect(200)

    await card.getByRole("button", { name: "Check now" }).click()
    await page.getByTestId("kg-lost-approved").waitFor()
    await screenshotBothWidths(page, "lost-device-approved")
    await page.getByRole("link", { name: "Set up two-factor authentication" }).click()
    await page.waitForURL(/\/settings\?tab=security/)
    // The troubleshooting hints point here too.
    const hints = page.locator(".kg-troubleshoot")
    await hints.locator("summary").click()
    expect(await hints.getByRole("link", { name: "Lost your device?" }).getAttribute("href")).toBe(
      "/lost-device",
    )
    await enrolTotpInBrowser(page, base())
    const state = await kratosState(person.identityId)
    expect(state.identity.credentials?.totp).toBeDefined()
    expect(state.sessions.filter((s) => s.active)).toHaveLength(1)
    await context.close()
  })

  it("an admin reads the queue, denies one request with a note the person then reads, and approves another", async () => {
    const denied = await filedRequest("deny-me", "I left my phone at home, can you reset it?")
    const approved = await filedRequest(
      "approve-me",
      "My phone was stolen yesterday evening; I reported it to the police.",
    )
    const { context, page } = await newPage()
    await adminOnQueue(page, "admin")
    const queue = page.getByTestId("kg-recovery-queue")
    const cardOf = (email: string) => queue.locator("article", { hasText: email })
    await cardOf(denied.email).waitFor()
    await cardOf(approved.email).getByText("Request came from").waitFor()
    await screenshotBothWidths(page, "admin-recovery-queue")

    await cardOf(denied.email).getByRole("button", { name: "Deny" }).click()
    const dialog = page.getByRole("dialog", { name: `Deny ${denied.email}'s request?` })
    await dialog.getByLabel(/Note to them/).fill("Please bring your phone to the service desk.")
    await screenshotBothWidths(page, "admin-recovery-deny")
    await dialog.getByRole("button", { name: "Deny request" }).click()
    await cardOf(denied.email).getByText("Denied", { exact: true }).waitFor()

    await cardOf(approved.email).getByRole("button", { name: "Approve and reset 2FA" }).click()
    await page
      .getByRole("dialog", { name: `Reset two-factor for ${approved.email}?` })
      .getByRole("button", { name: "Approve and reset" })
      .click()
    await cardOf(approved.email).getByText("Approved", { exact: true }).waitFor()
    expect((await kratosState(approved.identityId)).identity.credentials?.totp).toBeUndefined()
    expect((await kratosState(denied.identityId)).identity.credentials?.totp).toBeDefined()
    await context.close()

    // The denied person reads the decision where they asked.
    const person = await newPage()
    await loginInBrowser(person.page, base(), denied.email, STRONG_PASSWORD)
    await person.page.goto(`${base()}/lost-device`)
    await person.page
      .getByTestId("kg-lost-denied")
      .getByText(/Please bring your phone to the service desk/)
      .waitFor()
    await screenshotBothWidths(person.page, "lost-device-denied")
    await person.context.close()
  })
})

import { generateSync } from "otplib"
import type { Page } from "playwright-core"
import {
  addVirtualAuthenticator,
  registerInBrowser,
  screenshotBothWidths,
  useBrowser,
} from "../harness/browser"
import { kratosState } from "../harness/kratos-state"
import { STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/**
 * The Security page with the keyboard alone (Tab, Shift+Tab, Enter, typing): set up the
 * authenticator app, save the recovery codes, add a security key and remove it again. At
 * each state the page is walked from top to bottom and focus must go in reading order; the
 * end state is read from Kratos's admin API. At phone width, where the page is one column,
 * so reading order is top to bottom and, within a row, left to right.
 */
const { newPage } = useBrowser()
const base = () => stackInfo().publicUrl
const PHONE = { width: 390, height: 844 }

/** One stop of focus: the element's accessible name and where it is on the page. */
type Stop = { name: string; top: number; bottom: number; left: number }

async function focused(page: Page): Promise<Stop | null> {
  const box = await page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body || el === document.documentElement) return null
    const r = el.getBoundingClientRect()
    const text = (el.textContent ?? "").trim()
    return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, left: r.left, text }
  })
  if (!box) return null
  // Playwright's own accessible name (the first quoted string of the element's ARIA line); a
  // disclosure's summary has none there, and is named by its text.
  const snapshot = await page.locator("*:focus").ariaSnapshot()
  const quoted = /"((?:[^"\\]|\\.)*)"/.exec(snapshot.split("\n")[0] ?? "")?.[1]
  const { text, ...where } = box
  return { name: quoted ?? text, ...where }
}

const matches = (name: string, want: string | RegExp) =>
  typeof want === "string" ? name === want : want.test(name)

/** Presses Tab (Shift+Tab with `back`) until focus is on `want`; answers every stop on the way. */
async function tabTo(page: Page, want: string | RegExp, { back = false, max = 80 } = {}) {
  const stops: Stop[] = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab")
    const here = await focused(page)
    if (!here) continue
    stops.push(here)
    if (matches(here.name, want)) return stops
  }
  throw new Error(
    `focus never reached ${String(want)}; it went through: ${stops.map((s) => s.name).join(", ")}`,
  )
}

/**
 * Puts the start of sequential focus navigation at the top (or the bottom) of the page, as
 * when it has just loaded: a throw-away element there takes focus and goes away.
 */
async function focusFrom(page: Page, where: "top" | "bottom") {
  await page.evaluate((where) => {
    const mark = document.createElement("span")
    mark.tabIndex = -1
    if (where === "top") document.body.prepend(mark)
    else document.body.append(mark)
    mark.focus()
    mark.remove()
    window.scrollTo(0, where === "top" ? 0 : document.body.scrollHeight)
  }, where)
}

/**
 * Every stop of focus from the top of the page to its last control: Tab from the document
 * until focus leaves the page or comes back to where it began.
 */
async function walkWholePage(page: Page): Promise<Stop[]> {
  await focusFrom(page, "top")
  await page.keyboard.press("Tab")
  const first = await focused(page)
  if (!first) throw new Error("Tab from the top of the page focused nothing")
  const stops = [first]
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press("Tab")
    const here = await focused(page)
    if (!here || (here.name === first.name && here.top === first.top)) return stops
    stops.push(here)
  }
  throw new Error("the page has more than 150 stops of focus")
}

/** Each pair of consecutive stops that goes against reading order. */
function outOfOrder(stops: Stop[]): string[] {
  const wrong: string[] = []
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1]!
    const b = stops[i]!
    const sameRow = b.top < a.bottom && a.top < b.bottom
    const ok = sameRow ? b.left > a.left : b.top >= a.bottom - 1
    if (!ok)
      wrong.push(
        `"${b.name}" (y ${b.top}, x ${b.left}) after "${a.name}" (y ${a.top}, x ${a.left})`,
      )
  }
  return wrong
}

const names = (stops: Stop[]) => stops.map((s) => s.name)

async function factors(identityId: string) {
  const { identity } = await kratosState(identityId)
  const c = identity.credentials ?? {}
  const keys = (c.webauthn?.config as { credentials?: unknown[] } | undefined)?.credentials ?? []
  return {
    totp: Boolean(c.totp),
    lookupSecret: Boolean(c.lookup_secret),
    webauthnKeys: keys.length,
  }
}

describe("the Security page with the keyboard only", () => {
  it("sets up the app, saves the codes, adds a security key and removes it, focus in reading order at every step, and Kratos holds the result", async () => {
    const { context, page } = await newPage()
    await page.setViewportSize(PHONE)
    const email = uniqueEmail("keyboard")
    await registerInBrowser(page, base(), email, STRONG_PASSWORD)
    const who = await (await context.request.get(`${base()}/sessions/whoami`)).json()
    const identityId = who.identity.id as string
    const authenticator = await addVirtualAuthenticator(page)

    await page.goto(`${base()}/settings?tab=security`)
    await page.getByTestId("kg-2fa-status").waitFor()
    const start = await walkWholePage(page)
    expect(outOfOrder(start)).toEqual([])
    expect(names(start)).toEqual(
      expect.arrayContaining(["Change password", "Set up", "Add security key"]),
    )

    // The authenticator app: Set up, the code from the secret shown, Verify.
    await focusFrom(page, "top")
    const toSetUp = await tabTo(page, "Set up")
    expect(outOfOrder(toSetUp)).toEqual([])
    await page.keyboard.press("Enter")
    const secret = (await page.getByTestId("kg-totp-secret").innerText()).trim()
    const toCode = await tabTo(page, /6-digit code/)
    await page.keyboard.type(generateSync({ secret }))
    const toVerify = await tabTo(page, "Verify and turn on")
    // From Set up's place to the button, through the setup in the order it reads.
    expect(outOfOrder([...toCode, ...toVerify])).toEqual([])
    expect(names(toCode)).toEqual(expect.arrayContaining(["Copy key"]))
    await page.keyboard.press("Enter")

    // The recovery codes, shown once: focus starts on their heading.
    await page.getByTestId("kg-codes-once").waitFor()
    const toSaved = await tabTo(page, "I've saved them")
    expect(outOfOrder(toSaved)).toEqual([])
    expect(names(toSaved)).toEqual(["Copy codes", "Download", "I've saved them"])
    await page.keyboard.press("Enter")
    await page
      .getByTestId("kg-codes-left")
      .getByText(/12 of 12 left/)
      .waitFor()
    expect(await factors(identityId)).toEqual({ totp: true, lookupSecret: true, webauthnKeys: 0 })

    const enabled = await walkWholePage(page)
    expect(outOfOrder(enabled)).toEqual([])
    expect(names(enabled)).toEqual(
      expect.arrayContaining([
        "Remove authenticator app",
        "Regenerate recovery codes",
        "Add a security key",
        "Add security key",
        "Disable 2FA",
        "Trouble with two-factor?",
      ]),
    )

    // A security key: its name, then Add (Kratos's script asks the virtual authenticator).
    await focusFrom(page, "top")
    await tabTo(page, "Add a security key")
    await page.keyboard.type("Keyboard key")
    await tabTo(page, "Add security key")
    await page.keyboard.press("Enter")
    const remove = page.getByRole("button", { name: "Remove security key Keyboard key" })
    await remove.waitFor()
    expect(await authenticator.credentials()).toBe(1)
    expect(await factors(identityId)).toEqual({ totp: true, lookupSecret: true, webauthnKeys: 1 })

    const withKey = await walkWholePage(page)
    expect(outOfOrder(withKey)).toEqual([])
    expect(names(withKey)).toContain("Remove security key Keyboard key")
    await screenshotBothWidths(page, "keyboard-walk-with-key")

    // Remove it: from the bottom of the page back up to its button, then the confirmation.
    await focusFrom(page, "bottom")
    const up = await tabTo(page, "Remove security key Keyboard key", { back: true, max: 150 })
    // Backwards, focus goes against reading order at every step.
    expect(outOfOrder([...up].reverse())).toEqual([])
    await page.keyboard.press("Enter")
    const dialog = page.getByRole("dialog", { name: 'Remove the security key "Keyboard key"?' })
    await dialog.waitFor()
    // The dialog takes focus: its first control is Cancel, then the action.
    expect((await focused(page))?.name).toBe("Cancel")
    expect(names(await tabTo(page, "Remove key", { max: 3 }))).toEqual(["Remove key"])
    await page.keyboard.press("Enter")
    await remove.waitFor({ state: "detached" })
    expect(await factors(identityId)).toEqual({ totp: true, lookupSecret: true, webauthnKeys: 0 })

    const end = await walkWholePage(page)
    expect(outOfOrder(end)).toEqual([])
    expect(names(end)).not.toContain("Remove security key Keyboard key")
    await context.close()
  })
})

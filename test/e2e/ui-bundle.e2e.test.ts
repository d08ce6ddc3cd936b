import http from "node:http"
import type { Browser, Page } from "playwright-core"
import { launchBrowser, screenshot } from "../harness/browser"
import { browserRegistration, cookiePairs } from "../harness/browser-session"
import { STRONG_PASSWORD } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

/** The bar for the first page: JavaScript on /login, compressed as served. */
const LOGIN_JS_BUDGET = 250 * 1024

type Loaded = { file: string; encoded: number; decoded: number; encoding: string }

/** Every script of ours the page loaded, with its size on the wire and its content coding. */
async function scripts(page: Page, path: string): Promise<Loaded[]> {
  const encodings = new Map<string, string>()
  page.on("response", (r) => {
    if (r.url().includes("/assets/")) encodings.set(r.url(), r.headers()["content-encoding"] ?? "")
  })
  await page.goto(`${stackInfo().publicUrl}${path}`)
  await page.waitForURL(/flow=/)
  await page.locator("input[name='identifier']").waitFor()
  await page.waitForLoadState("networkidle")
  const entries = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((e) => e as PerformanceResourceTiming)
      .filter((e) => /\/assets\/.*\.js$/.test(e.name))
      .map((e) => ({ url: e.name, encoded: e.encodedBodySize, decoded: e.decodedBodySize })),
  )
  return entries.map((e) => ({
    file: e.url.split("/").pop()!,
    encoded: e.encoded,
    decoded: e.decoded,
    encoding: encodings.get(e.url) ?? "",
  }))
}

describe("the UI's first page", () => {
  it("when /login loads, then its JavaScript is compressed, under the budget, and carries neither the Security page nor the admin console", async () => {
    const page = await browser.newPage()
    const loaded = await scripts(page, "/login")
    const total = loaded.reduce((sum, s) => sum + s.encoded, 0)
    expect(loaded.length).toBeGreaterThan(1)
    // Files under the compression threshold (a few hundred bytes) are sent as they are.
    for (const s of loaded.filter((l) => l.decoded > 2048)) expect(s.encoding).toMatch(/gzip|br/)
    expect(total).toBeLessThanOrEqual(LOGIN_JS_BUDGET)
    const files = loaded.map((s) => s.file)
    expect(files.some((f) => f.startsWith("login-page-"))).toBe(true)
    expect(files.some((f) => f.startsWith("settings-page-"))).toBe(false)
    expect(files.some((f) => f.startsWith("admin-console-"))).toBe(false)
    await page.close()
  })
})

/** The flow the service put in the page, as Kratos answered it; null when it put none. */
function servedFlow(html: string): { id: string; ui: { action: string; nodes: Node[] } } | null {
  const m = /<script type="application\/json" id="kg-served-flow">([^<]*)<\/script>/.exec(html)
  return m ? JSON.parse(m[1]!) : null
}
type Node = { attributes: { name?: string; value?: unknown } }
const csrfOf = (flow: { ui: { nodes: Node[] } }) =>
  flow.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes.value

describe("the sign-in page rendered by the service", () => {
  const base = () => stackInfo().publicUrl

  it("when /login is asked for, then the page holds the sign-in form of a flow Kratos made for this browser, with its CSRF cookie", async () => {
    const res = await fetch(`${base()}/login`, { redirect: "manual" })
    expect(res.status).toBe(200)
    const html = await res.text()
    const flow = servedFlow(html)
    expect(flow).not.toBeNull()
    expect(html).toMatch(/<form[^>]*action="[^"]*\/self-service\/login\?flow=/)
    expect(html).toContain('name="identifier"')
    expect(html).toContain('name="password"')
    expect(html).not.toContain("kg-loading")
    // Kratos's own state: the flow exists, for the cookie the page set, with the token the form
    // carries.
    const cookies = cookiePairs(res.headers.getSetCookie())
    expect(cookies.some((c) => c.startsWith("csrf_token_"))).toBe(true)
    const fromKratos = await fetch(`${base()}/self-service/login/flows?id=${flow!.id}`, {
      headers: { accept: "application/json", cookie: cookies.join("; ") },
    })
    expect(fromKratos.status).toBe(200)
    const kratosFlow = (await fromKratos.json()) as { id: string; ui: { nodes: Node[] } }
    expect(kratosFlow.id).toBe(flow!.id)
    expect(csrfOf(kratosFlow)).toBe(csrfOf(flow!))
    expect(html).toContain(`value="${String(csrfOf(flow!))}"`)
  })

  it("when the page names its flow, then it is rendered with that flow and no new one", async () => {
    const first = await fetch(`${base()}/login`)
    const flow = servedFlow(await first.text())!
    const cookie = cookiePairs(first.headers.getSetCookie()).join("; ")
    const again = await fetch(`${base()}/login?flow=${flow.id}`, { headers: { cookie } })
    expect(servedFlow(await again.text())?.id).toBe(flow.id)
    expect(again.headers.getSetCookie().filter((c) => c.startsWith("csrf_token_"))).toEqual([])
  })

  it("when it is a re-authentication, a second step, a refusal to show, another host or a signed-in browser, then the browser renders the page as before", async () => {
    const user = await browserRegistration(base())
    const cases: [string, Record<string, string>][] = [
      ["/login?refresh=true", {}],
      ["/login?aal=aal2", {}],
      ["/login?throttled=30", {}],
      ["/login?flow=not-a-flow", {}],
      ["/login?return_to=/a&return_to=/b", {}],
      ["/login", { cookie: user.sessionCookie }],
    ]
    for (const [path, headers] of cases) {
      const res = await fetch(`${base()}${path}`, { headers, redirect: "manual" })
      const html = await res.text()
      expect({ path, headers, served: servedFlow(html) !== null }).toEqual({
        path,
        headers,
        served: false,
      })
      expect(html).toContain("kg-loading")
    }
    // fetch() can't name another host; a plain HTTP request can.
    const otherHost = await new Promise<string>((resolve, reject) => {
      http
        .get(`${base()}/login`, { headers: { host: "attacker.example" } }, (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (c: string) => (body += c))
          res.on("end", () => resolve(body))
        })
        .on("error", reject)
    })
    // (The service answers no other host at all; no flow is made for one either way.)
    expect(servedFlow(otherHost)).toBeNull()
  })

  it("when JavaScript is off, then the sign-in form is on screen all the same", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    await page.goto(`${base()}/login`)
    await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true)
    await expect(page.locator("input[name='identifier']").isVisible()).resolves.toBe(true)
    await screenshot(page, "login-server-rendered-no-js")
    await context.close()
  })

  it("when the page's script runs, then React adopts the server's form (the same elements, no errors), the address names the flow, and the person signs in", async () => {
    const user = await browserRegistration(base())
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text())
    })
    page.on("pageerror", (e) => errors.push(e.message))
    // The element the server sent, taken before the app loads (it loads after the first paint).
    await page.addInitScript(() => {
      document.addEventListener("DOMContentLoaded", () => {
        ;(window as unknown as { served: Element | null }).served = document.querySelector(
          "input[name='identifier']",
        )
      })
    })
    await page.goto(`${base()}/login`)
    const identifier = page.locator("input[name='identifier']")
    // Enabled once hydrated: elements-react renders its inputs disabled until then.
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLInputElement>("input[name='identifier']")?.disabled === false,
    )
    await page.waitForURL(/\/login\?flow=/)
    const same = await page.evaluate(
      () =>
        (window as unknown as { served: Element | null }).served ===
        document.querySelector("input[name='identifier']"),
    )
    expect(same).toBe(true)
    await identifier.fill(user.email)
    await page.locator("input[name='password']").fill(STRONG_PASSWORD)
    await page.getByRole("button", { name: "Sign in with password" }).click()
    await page.waitForURL(/\/settings/)
    expect(errors).toEqual([])
    await context.close()
  })
})

import type { Browser, Page } from "playwright-core"
import { launchBrowser } from "../harness/browser"
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

import { mkdirSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import type { Result as LighthouseResult } from "lighthouse"
import { buildUiIfStale } from "../scripts/stack"
import { CHROMIUM, CHROMIUM_FLAGS } from "../test/harness/browser"
import { browserRegistration } from "../test/harness/browser-session"
import { figure, printFigure, RESULTS_DIR, round, type Figure } from "./lib"
import { runAlone, type BenchStack } from "./stack"

/**
 * Benchmark 8, the UI's first loads: Lighthouse 12 with its default configuration (the mobile
 * preset: a mid-range phone, simulated slow 4G and a 4× slower CPU) in Debian's Chromium,
 * against the production build of the UI as the service serves it (the caller builds it with
 * buildUiIfStale() before the stack starts): `/login`, and the Security page signed in (the
 * session cookie goes with every request). Each page is measured RUNS times; the run with the
 * median performance score is the one reported. Each report is kept in bench/results/lighthouse/
 * (open it in the Lighthouse viewer). JavaScript is counted in units of 1024 bytes, as the
 * first-page test (test/e2e/ui-bundle.e2e.test.ts) counts its budget.
 */
const BENCH = "8 ui"
const RUNS = Number(process.env.BENCH_LIGHTHOUSE_RUNS ?? 3)
const LOGIN_JS_BUDGET_KB = 250
const REPORTS_DIR = path.join(RESULTS_DIR, "lighthouse")

export interface PageRun {
  url: string
  finalUrl: string
  performance: number
  lcpMs: number
  fcpMs: number
  tbtMs: number
  cls: number
  /** JavaScript the page loaded, bytes on the wire (compressed, headers included). */
  scriptBytes: number
  scriptRequests: number
  /** Empty when Lighthouse could not read it from the trace (newer Chromium traces). */
  lcpElement: string
  /** Opportunities and diagnostics that cost the page something, for a look when a bar fails. */
  findings: string[]
}

export async function runUiBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: Record<string, PageRun[]>
}> {
  const base = p.info.publicUrl
  const user = await browserRegistration(base)
  const pages: { name: string; url: string; headers: Record<string, string>; expect: RegExp }[] = [
    { name: "/login", url: `${base}/login`, headers: {}, expect: /\/login\?flow=/ },
    {
      name: "/settings?tab=security",
      url: `${base}/settings?tab=security`,
      headers: { cookie: user.cookieHeader },
      expect: /\/settings\?.*tab=security/,
    },
  ]
  const raw: Record<string, PageRun[]> = {}
  const figures: Figure[] = []
  for (const pg of pages) {
    const runs: PageRun[] = []
    for (let i = 0; i < RUNS; i++) {
      const run = await lighthouseRun(pg.url, pg.headers, `${pg.name.slice(1, 9)}-${i + 1}`)
      // A redirect elsewhere (to /login when the session was not taken) would measure the
      // wrong page.
      if (!pg.expect.test(run.finalUrl))
        throw new Error(`${pg.name}: Lighthouse ended on ${run.finalUrl}`)
      runs.push(run)
    }
    raw[pg.name] = runs
    const median = [...runs].sort((a, b) => a.performance - b.performance)[
      Math.floor(runs.length / 2)
    ]!
    const others = `runs ${runs.map((r) => r.performance).join("/")}, load ${os.loadavg()[0]!.toFixed(1)}; FCP ${round(median.fcpMs / 1000, 1)} s, TBT ${Math.round(median.tbtMs)} ms, CLS ${round(median.cls, 3)}`
    const page = [
      figure(
        BENCH,
        `${pg.name} Lighthouse performance`,
        median.performance,
        "",
        { op: ">=", limit: 90 },
        others,
      ),
      figure(
        BENCH,
        `${pg.name} LCP`,
        median.lcpMs / 1000,
        "s",
        { op: "<=", limit: 2.5 },
        median.lcpElement,
      ),
    ]
    if (pg.name === "/login")
      page.push(
        figure(
          BENCH,
          "/login JavaScript, compressed",
          median.scriptBytes / 1024,
          "kB",
          { op: "<=", limit: LOGIN_JS_BUDGET_KB },
          `${median.scriptRequests} files`,
        ),
      )
    page.forEach(printFigure)
    for (const f of median.findings) console.log(`    ${f}`)
    figures.push(...page)
  }
  return { figures, raw }
}

/** One Lighthouse navigation in a Chromium of its own (a cold cache and a clean profile). */
async function lighthouseRun(
  url: string,
  headers: Record<string, string>,
  name: string,
): Promise<PageRun> {
  // Both are ES modules only.
  const { default: lighthouse } = await import("lighthouse")
  const { launch } = await import("chrome-launcher")
  const chrome = await launch({ chromePath: CHROMIUM, chromeFlags: CHROMIUM_FLAGS })
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance"],
      extraHeaders: headers,
    })
    if (!result) throw new Error(`Lighthouse gave no result for ${url}`)
    // The whole report, for a look at what a figure comes from (gitignored, like the results).
    mkdirSync(REPORTS_DIR, { recursive: true })
    writeFileSync(path.join(REPORTS_DIR, `${name}.json`), JSON.stringify(result.lhr))
    return summarise(url, result.lhr)
  } finally {
    await chrome.kill()
  }
}

type Details = { type?: string; items?: Record<string, unknown>[] }

function summarise(url: string, lhr: LighthouseResult): PageRun {
  if (lhr.runtimeError) throw new Error(`Lighthouse on ${url}: ${lhr.runtimeError.message}`)
  const audit = (id: string) => lhr.audits[id]
  const num = (id: string) => audit(id)?.numericValue ?? NaN
  const summary = (audit("resource-summary")?.details as Details | undefined)?.items ?? []
  const scripts = summary.find((i) => i.resourceType === "script") ?? {}
  const lcpItems = (audit("largest-contentful-paint-element")?.details as Details | undefined)
    ?.items
  const lcpNode = JSON.stringify(lcpItems?.[0] ?? {}).match(/"nodeLabel":"([^"]*)"/)?.[1] ?? ""
  const findings = Object.values(lhr.audits)
    .filter(
      (a) =>
        a.score !== null &&
        a.score < 0.9 &&
        (a.details?.type === "opportunity" || a.details?.type === "table") &&
        a.scoreDisplayMode !== "informative",
    )
    .map((a) => `${a.id}: ${a.displayValue ?? ""} ${a.title}`.replace(/\s+/g, " ").trim())
  return {
    url,
    finalUrl: lhr.finalDisplayedUrl,
    performance: Math.round((lhr.categories.performance?.score ?? NaN) * 100),
    lcpMs: num("largest-contentful-paint"),
    fcpMs: num("first-contentful-paint"),
    tbtMs: num("total-blocking-time"),
    cls: num("cumulative-layout-shift"),
    scriptBytes: Number(scripts.transferSize ?? NaN),
    scriptRequests: Number(scripts.requestCount ?? NaN),
    lcpElement: lcpNode ? `LCP element: ${lcpNode.slice(0, 60)}` : "",
    findings,
  }
}

if (require.main === module) {
  // BENCH_UI_DIST=<folder>: another build of the UI (e.g. an earlier commit's), served by this
  // service, to compare with on the same machine and load.
  const dist = process.env.BENCH_UI_DIST
  // The service only serves a build it finds at start.
  if (!dist) buildUiIfStale()
  runAlone(runUiBench, dist ? { env: { UI_DIST_DIR: dist } } : {})
}

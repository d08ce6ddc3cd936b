import { spawn } from "node:child_process"
import { readFileSync, mkdirSync, writeFileSync } from "node:fs"
import path from "node:path"
import { ROOT } from "../scripts/stack"

/**
 * Shared pieces of the benchmarks: percentiles, bars with PASS/FAIL, the results file, the
 * load generator (autocannon in a process of its own) and an RSS sampler for another process.
 */

export interface Stats {
  n: number
  p50: number
  p99: number
  mean: number
  max: number
}

/** Nearest-rank percentiles of a list of milliseconds (or any unit), rounded to 0.01. */
export function stats(xs: number[]): Stats {
  if (xs.length === 0) return { n: 0, p50: NaN, p99: NaN, mean: NaN, max: NaN }
  const s = [...xs].sort((a, b) => a - b)
  return {
    n: s.length,
    p50: round(quantile(s, 0.5)),
    p99: round(quantile(s, 0.99)),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    max: round(s[s.length - 1]!),
  }
}

/** The p-quantile of an ascending list (nearest rank). */
export function quantile(sorted: number[], p: number): number {
  const rank = Math.ceil(p * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export const round = (x: number, digits = 2) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export interface Bar {
  op: "<=" | ">="
  limit: number
}

/** One measured figure; `pass` is set when it has a bar. */
export interface Figure {
  /** Benchmark number and name, e.g. "2 webhooks". */
  bench: string
  name: string
  value: number
  unit: string
  bar?: Bar
  pass?: boolean
  /** What the value was compared with, for the table (e.g. the baseline figure). */
  note?: string
}

export function figure(
  bench: string,
  name: string,
  value: number,
  unit: string,
  bar?: Bar,
  note?: string,
): Figure {
  const v = round(value)
  const pass = bar
    ? (bar.op === "<=" ? v <= bar.limit : v >= bar.limit) && !Number.isNaN(v)
    : undefined
  return { bench, name, value: v, unit, bar, pass, note }
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))

/** A plain-text table of figures: value, bar and PASS/FAIL (or "info" without a bar). */
export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.bench,
    f.name,
    `${f.value} ${f.unit}`.trim(),
    f.bar ? `${f.bar.op} ${f.bar.limit} ${f.unit}`.trim() : "",
    f.bar ? (f.pass ? "PASS" : "FAIL") : "info",
    f.note ?? "",
  ])
  const head = ["bench", "figure", "value", "bar", "result", "note"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i]!))
      .join("  ")
      .trimEnd()
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/** One line per figure as it is measured, so a long run shows progress. */
export function printFigure(f: Figure): void {
  const bar = f.bar
    ? `  (bar ${f.bar.op} ${f.bar.limit} ${f.unit}: ${f.pass ? "PASS" : "FAIL"})`
    : ""
  const note = f.note ? `  [${f.note}]` : ""
  console.log(`  ${f.bench} | ${f.name}: ${f.value} ${f.unit}${bar}${note}`)
}

export const RESULTS_DIR = path.join(ROOT, "bench", "results")

/** Writes `bench/results/<timestamp>.json` and `bench/results/latest.json`; answers the first path. */
export function writeResults(result: unknown, startedAt = new Date()): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-")
  const file = path.join(RESULTS_DIR, `${stamp}.json`)
  const text = JSON.stringify(result, null, 2)
  writeFileSync(file, text)
  writeFileSync(path.join(RESULTS_DIR, "latest.json"), text)
  return file
}

/** What the load worker (bench/load-worker.ts) is asked to do. */
export interface LoadSpec {
  url: string
  /**
   * Several servers of the same service (replicas): each gets `connections` of its own, all
   * from this one load process; `url`'s path and query are used for each. Not with `rate`.
   */
  targets?: string[]
  method?: "GET" | "POST"
  headers?: Record<string, string>
  /** Request bodies, sent in turn; in each, every `freshUuid` string becomes a new random UUID. */
  bodies?: string[]
  /** Request paths (with query), used in turn instead of the URL's own path. */
  paths?: string[]
  /** Headers added in turn to `headers`, one set per request (e.g. each user's cookie). */
  headerSets?: Record<string, string>[]
  freshUuid?: string
  connections: number
  /** Seconds. */
  duration: number
  /**
   * Requests per second, evenly paced and open loop (latency counted from when each was due,
   * at most `connections` at once); as fast as `connections` allow when absent.
   */
  rate?: number
  /** Sent (and not counted) before the measured run. */
  warmup?: number
}

export interface LoadResult {
  requests: number
  /** Completed 2xx responses per second. */
  rps: number
  seconds: number
  statusCodes: Record<string, number>
  errors: number
  timeouts: number
  /** Latency of 2xx responses, ms (exact, from the worker's own clock per response). */
  latency: Stats
}

/**
 * Runs autocannon in a process of its own (so the load generator does not share this
 * process's event loop) and answers what it measured.
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "bench", "load-worker.ts")],
      { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
    )
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (d: string) => (out += d))
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`load worker exited with ${code}`))
      try {
        resolve(JSON.parse(out) as LoadResult)
      } catch {
        reject(new Error(`load worker printed no result: ${out.slice(0, 200)}`))
      }
    })
    child.stdin.end(JSON.stringify(spec))
  })
}

/** RSS of another process (Linux /proc), MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

/** Samples a process's RSS every `everyMs` until stopped; answers the peak and the last value. */
export function sampleRss(pid: number, everyMs = 100) {
  let peak = 0
  let last = 0
  const take = () => {
    try {
      last = rssMb(pid)
      peak = Math.max(peak, last)
    } catch {
      // the process is gone; keep what was seen
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop(): { peakMb: number; lastMb: number } {
      clearInterval(timer)
      take()
      return { peakMb: round(peak, 1), lastMb: round(last, 1) }
    },
  }
}

/** CPU time (user + system) another process has used so far, ms (Linux /proc, 10 ms steps). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / 100
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

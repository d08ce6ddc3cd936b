import { browserRegistration } from "../test/harness/browser-session"
import { GATE_CACHE_MS } from "../webhooks/domain/gate-cache"
import { cpuMs, figure, printFigure, round, runLoad, type Figure, type LoadResult } from "./lib"
import { runAlone, type BenchStack } from "./stack"

/**
 * Benchmark 7: `GET /api/auth/gate` with a session cookie, as a reverse proxy's auth
 * sub-request sends it for every request of a gated app. SESSIONS people signed in through
 * the browser flow; their cookies are sent in turn. Latency at RATE requests/s (paced, open
 * loop), and the highest rate with CONNECTIONS connections compared with a direct Kratos
 * `whoami` with the same cookies, each pair run twice in alternating order (the better run of
 * each side is kept). The gate may use Kratos answers up to GATE_CACHE_MS old (see
 * webhooks/domain/gate-cache.ts); the service's own record is read on every call.
 */
const BENCH = "7 gate"
const RATE = 200
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5)
const CONNECTIONS = 16
const SESSIONS = 10

export async function runGateBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: Record<string, LoadResult | LoadResult[]>
}> {
  const cookies: Record<string, string>[] = []
  for (let i = 0; i < SESSIONS; i++) {
    cookies.push({ cookie: (await browserRegistration(p.info.publicUrl)).sessionCookie })
  }
  const headers = { accept: "application/json" }
  const gate = `${p.info.publicUrl}/api/auth/gate`
  const whoami = `${p.stack.kratosPublicUrl}/sessions/whoami`
  const spec = { headers, headerSets: cookies }

  const rates: Record<"gate" | "whoami", LoadResult[]> = { gate: [], whoami: [] }
  const cpuPerGate: number[] = []
  for (let pass = 0; pass < 2; pass++) {
    const order = pass === 0 ? (["whoami", "gate"] as const) : (["gate", "whoami"] as const)
    for (const side of order) {
      const cpu0 = cpuMs(p.servicePid())
      const r = await runLoad({
        ...spec,
        url: side === "gate" ? gate : whoami,
        connections: CONNECTIONS,
        duration: SECONDS,
        warmup: 100,
      })
      if (side === "gate") cpuPerGate.push((cpuMs(p.servicePid()) - cpu0) / r.requests)
      rates[side].push(r)
    }
  }
  // After the rate runs, so the service is warm (JIT) as it is in production.
  const rated = await runLoad({
    ...spec,
    url: gate,
    connections: 10,
    duration: SECONDS,
    rate: RATE,
    warmup: 200,
  })
  for (const r of [rated, ...rates.gate, ...rates.whoami]) {
    if (r.latency.n !== r.requests) {
      throw new Error(`gate or whoami answered non-2xx: ${JSON.stringify(r.statusCodes)}`)
    }
  }
  const best = (rs: LoadResult[]) => Math.max(...rs.map((r) => r.rps))
  const gateRps = best(rates.gate)
  const whoamiRps = best(rates.whoami)
  const figures = [
    figure(BENCH, "gate p50 at 200 req/s", rated.latency.p50, "ms"),
    figure(
      BENCH,
      "gate p99 at 200 req/s",
      rated.latency.p99,
      "ms",
      { op: "<=", limit: 10 },
      `${rated.latency.n} requests, ${SESSIONS} sessions, all 2xx`,
    ),
    figure(BENCH, "gate rate", gateRps, "req/s"),
    figure(BENCH, "direct Kratos whoami rate", whoamiRps, "req/s"),
    figure(
      BENCH,
      "gate rate / direct whoami",
      gateRps / whoamiRps,
      "x",
      { op: ">=", limit: 0.8 },
      `Kratos answers at most ${GATE_CACHE_MS} ms old; before: 163 vs 598 req/s = 0.27x, p99 219 ms`,
    ),
    figure(
      BENCH,
      "service CPU per gate call",
      round(Math.min(...cpuPerGate), 3),
      "ms",
      undefined,
      "user + system time of the service process / requests, 16 connections",
    ),
  ]
  figures.forEach(printFigure)
  return { figures, raw: { rated, gate: rates.gate, whoami: rates.whoami } }
}

if (require.main === module) runAlone(runGateBench)

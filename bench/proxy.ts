import { registerNative } from "../test/harness/kratos"
import { cpuMs, figure, printFigure, runLoad, sampleRss, type Figure, type LoadResult } from "./lib"
import { runAlone, type BenchStack } from "./stack"

/**
 * Benchmark 3: `GET /sessions/whoami` with a session token, through the service's proxy and
 * straight to Kratos public, by autocannon in its own process. Latency with one connection
 * (requests one after another), throughput with CONNECTIONS; each pair is run twice in
 * alternating order and the better run of each side is kept, to even out the shared machine.
 */
const BENCH = "3 proxy"
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5)
const CONNECTIONS = 16

export async function runProxyBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: Record<string, LoadResult[]>
  peakRssMb: number
}> {
  const user = await registerNative(undefined, undefined, p.urls)
  const headers = { accept: "application/json", "x-session-token": user.sessionToken }
  const direct = `${p.stack.kratosPublicUrl}/sessions/whoami`
  const via = `${p.info.publicUrl}/sessions/whoami`
  const raw: Record<string, LoadResult[]> = {
    latencyDirect: [],
    latencyVia: [],
    rateDirect: [],
    rateVia: [],
  }
  // Service CPU per proxied request: robust to other load on the machine, unlike the rates.
  const cpuPerRequest: number[] = []
  // Kratos's own CPU per whoami: the load generator, Kratos, Postgres and the service share
  // the machine's cores, so the service's CPU per request bounds the rate ratio on its own.
  const kratosCpuPerRequest: number[] = []
  const rss = sampleRss(p.servicePid())
  for (let round = 0; round < 2; round++) {
    const order: [string, string][] =
      round === 0
        ? [
            ["Direct", direct],
            ["Via", via],
          ]
        : [
            ["Via", via],
            ["Direct", direct],
          ]
    for (const [side, url] of order) {
      raw[`latency${side}`]!.push(
        await runLoad({ url, headers, connections: 1, duration: SECONDS, warmup: 200 }),
      )
    }
    for (const [side, url] of order) {
      const cpu0 = cpuMs(p.servicePid())
      const kratos0 = cpuMs(p.stack.kratos.pid!)
      const r = await runLoad({ url, headers, connections: CONNECTIONS, duration: SECONDS })
      if (side === "Via") cpuPerRequest.push((cpuMs(p.servicePid()) - cpu0) / r.requests)
      else kratosCpuPerRequest.push((cpuMs(p.stack.kratos.pid!) - kratos0) / r.requests)
      raw[`rate${side}`]!.push(r)
    }
  }
  const peakRssMb = rss.stop().peakMb
  for (const runs of Object.values(raw)) {
    const bad = runs.find((r) => r.latency.n !== r.requests)
    if (bad) throw new Error(`whoami answered non-2xx: ${JSON.stringify(bad.statusCodes)}`)
  }
  const bestP50 = (rs: LoadResult[]) => Math.min(...rs.map((r) => r.latency.p50))
  const bestRps = (rs: LoadResult[]) => Math.max(...rs.map((r) => r.rps))
  const d50 = bestP50(raw.latencyDirect!)
  const v50 = bestP50(raw.latencyVia!)
  const dRps = bestRps(raw.rateDirect!)
  const vRps = bestRps(raw.rateVia!)
  const figures = [
    figure(BENCH, "whoami p50 direct to Kratos", d50, "ms"),
    figure(BENCH, "whoami p50 through the service", v50, "ms"),
    figure(BENCH, "whoami p50 added by the proxy", v50 - d50, "ms", { op: "<=", limit: 0.5 }),
    figure(BENCH, "whoami rate direct to Kratos", dRps, "req/s"),
    figure(BENCH, "whoami rate through the service", vRps, "req/s"),
    figure(BENCH, "whoami rate through / direct", vRps / dRps, "x", { op: ">=", limit: 0.8 }),
    figure(
      BENCH,
      "service CPU per proxied whoami",
      Math.min(...cpuPerRequest),
      "ms",
      { op: "<=", limit: 0.5 },
      "user + system time of the service process / requests; last idle run: 0.46 ms",
    ),
    figure(
      BENCH,
      "Kratos CPU per whoami",
      Math.min(...kratosCpuPerRequest),
      "ms",
      undefined,
      "user + system time of the Kratos process / requests, direct",
    ),
  ]
  figures.forEach(printFigure)
  return { figures, raw, peakRssMb }
}

if (require.main === module) {
  runAlone(async (p) => {
    const r = await runProxyBench(p)
    console.log(`service peak RSS ${r.peakRssMb} MB`)
  })
}

import { randomUUID } from "node:crypto"
import http from "node:http"
import autocannon from "autocannon"
import { stats, type LoadResult, type LoadSpec } from "./lib"

/**
 * The load generator, run as a process of its own by `runLoad` (bench/lib.ts): reads a
 * LoadSpec as JSON on stdin, runs autocannon and prints a LoadResult as JSON on stdout.
 * Latencies are taken per response from autocannon's own timer, unrounded (its histogram
 * keeps whole milliseconds, too coarse for a 1 ms bar). With a `rate`, requests are paced by
 * this worker instead (see `paced`).
 */
async function main(): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  const spec = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LoadSpec

  const bodies = spec.bodies ?? []
  const paths = spec.paths ?? []
  const headerSets = spec.headerSets ?? []
  let nextBody = 0
  let nextPath = 0
  let nextHeaders = 0
  const request = {
    method: spec.method ?? "GET",
    headers: spec.headers ?? {},
    ...(bodies.length > 0 || paths.length > 0 || headerSets.length > 0
      ? {
          setupRequest: (req: Record<string, unknown>) => {
            const out = { ...req }
            if (paths.length > 0) out.path = paths[nextPath++ % paths.length]!
            if (headerSets.length > 0) {
              out.headers = {
                ...(req.headers as Record<string, string>),
                ...headerSets[nextHeaders++ % headerSets.length],
              }
            }
            if (bodies.length > 0) {
              const body = bodies[nextBody++ % bodies.length]!
              out.body = spec.freshUuid ? body.split(spec.freshUuid).join(randomUUID()) : body
            }
            return out
          },
        }
      : {}),
  }

  // Replicas: one autocannon per target, at the same time, in this process.
  const own = new URL(spec.url)
  const targets = spec.targets?.map((t) => new URL(own.pathname + own.search, t).toString()) ?? [
    spec.url,
  ]
  if (spec.warmup) {
    await Promise.all(
      targets.map((url) =>
        run({ ...spec, url, duration: 0, rate: undefined }, request, spec.warmup),
      ),
    )
  }
  if (spec.rate) {
    process.stdout.write(JSON.stringify(await paced(spec)))
    return
  }
  const runs = await Promise.all(targets.map((url) => run({ ...spec, url }, request)))
  const statusCodes: Record<string, number> = {}
  for (const { result } of runs) {
    for (const [k, v] of Object.entries(result.statusCodeStats ?? {})) {
      statusCodes[k] = (statusCodes[k] ?? 0) + (v?.count ?? 0)
    }
  }
  const sum = (f: (r: autocannon.Result) => number) => runs.reduce((a, r) => a + f(r.result), 0)
  const seconds = Math.max(...runs.map((r) => r.result.duration))
  const out: LoadResult = {
    requests: sum((r) => r.requests.total),
    rps: Math.round(runs.reduce((a, r) => a + r.result["2xx"] / r.result.duration, 0) * 10) / 10,
    seconds,
    statusCodes,
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    latency: stats(runs.flatMap((r) => r.latencies)),
  }
  process.stdout.write(JSON.stringify(out))
}

/**
 * A fixed rate, open loop: request k is due at k / rate seconds and is sent then whether or not
 * earlier ones have been answered; its latency runs from when it was due, so time spent waiting
 * for a free connection counts. (autocannon's own rate limit sends each connection's quota for
 * the second back to back at the start of the second, which measures the drain of a burst.)
 */
async function paced(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections })
  const bodies = spec.bodies ?? []
  const paths = spec.paths ?? []
  const headerSets = spec.headerSets ?? []
  const total = Math.round(spec.rate! * spec.duration)
  const interval = 1000 / spec.rate!
  const latencies: number[] = []
  const statusCodes: Record<string, number> = {}
  let errors = 0
  const send = (k: number, due: number) =>
    new Promise<void>((resolve) => {
      const template = bodies.length > 0 ? bodies[k % bodies.length]! : undefined
      const body =
        template !== undefined && spec.freshUuid
          ? template.split(spec.freshUuid).join(randomUUID())
          : template
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: spec.method ?? "GET",
          path: paths.length > 0 ? paths[k % paths.length]! : url.pathname + url.search,
          headers: {
            ...spec.headers,
            ...(headerSets.length > 0 ? headerSets[k % headerSets.length] : {}),
            ...(body !== undefined ? { "content-length": Buffer.byteLength(body) } : {}),
          },
          agent,
        },
        (res) => {
          res.resume()
          res.on("end", () => {
            const code = res.statusCode ?? 0
            statusCodes[code] = (statusCodes[code] ?? 0) + 1
            if (code >= 200 && code < 300) latencies.push(performance.now() - due)
            resolve()
          })
        },
      )
      req.on("error", () => {
        errors++
        resolve()
      })
      req.end(body)
    })
  const start = performance.now()
  const inFlight: Promise<void>[] = []
  let sent = 0
  while (sent < total) {
    const now = performance.now()
    while (sent < total && start + sent * interval <= now) {
      inFlight.push(send(sent, start + sent * interval))
      sent++
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  await Promise.all(inFlight)
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  return {
    requests: total,
    rps: Math.round((latencies.length / seconds) * 10) / 10,
    seconds: Math.round(seconds * 100) / 100,
    statusCodes,
    errors,
    timeouts: 0,
    latency: stats(latencies),
  }
}

function run(
  spec: LoadSpec,
  request: Record<string, unknown>,
  amount?: number,
): Promise<{ result: autocannon.Result; latencies: number[] }> {
  const latencies: number[] = []
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        ...(amount ? { amount } : { duration: spec.duration }),
        ...(spec.rate ? { overallRate: spec.rate } : {}),
        requests: [request as autocannon.Request],
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve({ result, latencies })),
    )
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

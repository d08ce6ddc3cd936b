import { randomUUID } from "node:crypto"
import autocannon from "autocannon"
import { stats, type LoadResult, type LoadSpec } from "./lib"

/**
 * The load generator, run as a process of its own by `runLoad` (bench/lib.ts): reads a
 * LoadSpec as JSON on stdin, runs autocannon and prints a LoadResult as JSON on stdout.
 * Latencies are taken per response from autocannon's own timer, unrounded (its histogram
 * keeps whole milliseconds, too coarse for a 1 ms bar).
 */
async function main(): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  const spec = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LoadSpec

  const bodies = spec.bodies ?? []
  const paths = spec.paths ?? []
  let nextBody = 0
  let nextPath = 0
  const request = {
    method: spec.method ?? "GET",
    headers: spec.headers ?? {},
    ...(bodies.length > 0 || paths.length > 0
      ? {
          setupRequest: (req: Record<string, unknown>) => {
            const out = { ...req }
            if (paths.length > 0) out.path = paths[nextPath++ % paths.length]!
            if (bodies.length > 0) {
              const body = bodies[nextBody++ % bodies.length]!
              out.body = spec.freshUuid ? body.split(spec.freshUuid).join(randomUUID()) : body
            }
            return out
          },
        }
      : {}),
  }

  if (spec.warmup) {
    await run({ ...spec, duration: 0, rate: undefined }, request, spec.warmup)
  }
  const { result, latencies } = await run(spec, request)
  const ok2xx = result["2xx"]
  const out: LoadResult = {
    requests: result.requests.total,
    rps: Math.round((ok2xx / result.duration) * 10) / 10,
    seconds: result.duration,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v?.count ?? 0]),
    ),
    errors: result.errors,
    timeouts: result.timeouts,
    latency: stats(latencies),
  }
  process.stdout.write(JSON.stringify(out))
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

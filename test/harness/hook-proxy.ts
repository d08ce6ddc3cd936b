import http from "node:http"
import net from "node:net"

/** One web_hook call Kratos made through the proxy, and what became of it. */
export interface HookCall {
  path: string
  /** The service's status, or what the proxy did instead of relaying one. */
  outcome: number | "dropped" | "unreachable"
  /** Why the service could not be reached. */
  error?: string
}

/**
 * What the proxy does with a call: relay it (the default; `before` runs before forwarding it,
 * `beforeAnswer` once the service answered and before Kratos gets that answer), cut Kratos's
 * connection without forwarding, or forward it, wait for the service's whole answer, run
 * `afterAnswer` (e.g. kill the service) and cut Kratos's connection instead of answering.
 */
export type HookPlan =
  | { kind: "forward"; before?: () => Promise<void>; beforeAnswer?: () => Promise<void> }
  | { kind: "drop"; before?: () => Promise<void> }
  | { kind: "forward-then-drop"; afterAnswer: () => Promise<void> }

/**
 * An HTTP proxy between Kratos and the service's `/hooks/*`, so a test can fail the service at
 * an exact point of a flow (e.g. between Kratos's pre-persist and post-persist calls) without
 * a test-only switch in the service. `redirect` is a `mutateKratosConfig` that sends every
 * web_hook through the proxy; `plan` decides per call.
 */
export async function startHookProxy() {
  let target: URL | null = null
  let plan: (path: string) => HookPlan | Promise<HookPlan> = () => ({ kind: "forward" })
  const calls: HookCall[] = []

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const path = req.url ?? "/"
      const body = Buffer.concat(chunks)
      const cut = (outcome: HookCall["outcome"], error?: string) => {
        calls.push({ path, outcome, ...(error ? { error } : {}) })
        req.socket.destroy()
      }
      Promise.resolve(plan(path))
        .then(async (p) => {
          if (p.kind === "drop") {
            await p.before?.()
            return cut("dropped")
          }
          if (p.kind === "forward") await p.before?.()
          let upstream: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }
          try {
            upstream = await forward(target!, req, path, body)
          } catch (err) {
            // The service is gone: Kratos sees a connection failure, as it would without us.
            return cut("unreachable", (err as Error).message)
          }
          if (p.kind === "forward-then-drop") {
            await p.afterAnswer()
            return cut("dropped")
          }
          if (p.kind === "forward") await p.beforeAnswer?.()
          calls.push({ path, outcome: upstream.status })
          res.writeHead(upstream.status, upstream.headers)
          res.end(upstream.body)
        })
        .catch(() => cut("dropped"))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`

  return {
    calls,
    /** Calls whose path ends with this suffix, e.g. "/settings/totp/pre". */
    callsTo: (suffix: string) => calls.filter((c) => c.path.endsWith(suffix)),
    setPlan(p: (path: string) => HookPlan | Promise<HookPlan>) {
      plan = p
    },
    /** For startStack's mutateKratosConfig: every web_hook goes through the proxy. */
    redirect(cfg: Record<string, unknown>) {
      visitHooks(cfg, (hook) => {
        const url = new URL(hook.url)
        target = new URL(url.origin)
        hook.url = `${origin}${url.pathname}${url.search}`
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function forward(target: URL, req: http.IncomingMessage, path: string, body: Buffer) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      const out = http.request(
        {
          host: target.hostname,
          port: target.port,
          path,
          method: req.method,
          headers: { ...req.headers, host: target.host, connection: "close" },
          agent: false,
        },
        (up) => {
          const chunks: Buffer[] = []
          up.on("data", (c: Buffer) => chunks.push(c))
          up.on("end", () => {
            const headers = { ...up.headers }
            delete headers["transfer-encoding"]
            delete headers.connection
            resolve({ status: up.statusCode ?? 502, headers, body: Buffer.concat(chunks) })
          })
          up.on("error", reject)
        },
      )
      out.on("error", reject)
      out.end(body)
    },
  )
}

/** Calls `fn` with the config of every web_hook anywhere in a rendered Kratos config. */
function visitHooks(node: unknown, fn: (config: { url: string }) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) visitHooks(n, fn)
    return
  }
  if (!node || typeof node !== "object") return
  const o = node as Record<string, unknown>
  const config = o.config as { url?: unknown } | undefined
  if (o.hook === "web_hook" && typeof config?.url === "string") {
    fn(config as { url: string })
    return
  }
  for (const v of Object.values(o)) visitHooks(v, fn)
}

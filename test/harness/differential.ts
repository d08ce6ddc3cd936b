import { randomUUID } from "node:crypto"
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs"
import http from "node:http"
import type { AddressInfo } from "node:net"
import path from "node:path"
import { Configuration, FrontendApi } from "@ory/client"
import fc from "fast-check"
import { inProcessApp } from "./app"
import { STRONG_PASSWORD } from "./kratos"
import { stackInfo } from "./stack-info"
import type { Variant } from "./variants"

/**
 * What the differential suite's files share (test/integration/differential-*.test.ts): each
 * promise of the proxy checked over generated spellings of the
 * same request, against Kratos's own state — the password Kratos stores (a login with it), the
 * guesses Kratos answered (its request log), the factors Kratos keeps (its admin API). A status
 * code of ours is never the evidence.
 *
 * `DIFFERENTIAL_RUNS` scales the runs (CI: 1). The suite is split by promise into files, so
 * jest's workers run them side by side; each file has its own service in process.
 */
const SCALE = Number(process.env.DIFFERENTIAL_RUNS ?? 1)
export const runs = (n: number) => Math.max(1, Math.round(n * SCALE))

export const LIMIT = 3
export const CLIENT_IP = `198.19.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`
let app: ReturnType<typeof inProcessApp>
let server: http.Server
let port = 0

/** Kratos public directly (not through the service): the oracle's own view. */
export const direct = () =>
  new FrontendApi(new Configuration({ basePath: stackInfo().kratosPublicUrl }))

/** Starts the service in process for the calling test file (its beforeAll and afterAll). */
export function useDifferentialService(): void {
  beforeAll(async () => {
    app = inProcessApp({
      env: {
        TRUST_PROXY_HOPS: "1",
        LOGIN_MAX_FAILURES_PER_IDENTIFIER: String(LIMIT),
        LOGIN_MAX_FAILURES_PER_IP: "100000",
        LOGIN_BLOCK_BASE_SECONDS: "3600",
      },
    })
    server = http.createServer(app.app)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    port = (server.address() as AddressInfo).port
  })

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()))
    await app.close()
  })
}

interface Reply {
  status: number
  body: string
  contentType: string
  location: string
}

/** Sends a variant as raw bytes on a fresh connection. */
export function send(v: Variant, userAgent: string): Promise<Reply> {
  const headers: Record<string, string | string[]> = { host: `127.0.0.1:${port}` }
  for (const [k, val] of Object.entries(v.headers)) headers[k] = val
  for (const [k, val] of v.rawHeaders ?? []) {
    const prev = headers[k]
    headers[k] = prev === undefined ? val : [...(Array.isArray(prev) ? prev : [prev]), val]
  }
  headers["user-agent"] = userAgent
  // A client address of its own (198.18.0.0/15 is for tests), so these failures never count
  // against another test's address.
  headers["x-forwarded-for"] = CLIENT_IP
  if (v.body && !v.chunked) headers["content-length"] = String(v.body.length)
  if (v.chunked) headers["transfer-encoding"] = "chunked"
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: "127.0.0.1", port, method: v.method, path: v.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            contentType: String(res.headers["content-type"] ?? ""),
            location: String(res.headers.location ?? ""),
          }),
        )
        res.on("error", reject)
      },
    )
    r.on("error", reject)
    if (v.chunked && v.body) {
      // Two chunks, so the body really is chunked on the wire.
      r.write(v.body.subarray(0, Math.floor(v.body.length / 2)))
      r.end(v.body.subarray(Math.floor(v.body.length / 2)))
    } else r.end(v.body)
  })
}

/** Whether the password signs in at Kratos (directly, so no limit of ours is involved). */
export async function kratosAccepts(identifier: string, password: string): Promise<boolean> {
  const { data: flow } = await direct().createNativeLoginFlow()
  return direct()
    .updateLoginFlow({
      flow: flow.id,
      updateLoginFlowBody: { method: "password", identifier, password },
    })
    .then(
      (r) => Boolean(r.data.session_token),
      () => false,
    )
}

/**
 * Kratos's request log from a point on: which login submissions it answered, and how, by the
 * user agent each variant was sent with. A marker request sent straight to Kratos afterwards
 * tells when the log has caught up.
 */
export class LogTail {
  private readonly file = path.join(stackInfo().dataDir, "kratos.log")
  private readonly start = statSync(this.file).size

  async loginAnswers(tag: string): Promise<Map<string, number>> {
    const marker = `${tag}-marker-${randomUUID()}`
    await fetch(`${stackInfo().kratosPublicUrl}/health/alive`, {
      headers: { "user-agent": marker },
    })
    for (let i = 0; i < 200; i++) {
      const text = this.read()
      if (text.includes(marker)) {
        const out = new Map<string, number>()
        for (const line of text.split("\n")) {
          if (!line.includes(tag) || !line.includes('"completed handling request"')) continue
          const entry = JSON.parse(line) as {
            http_request: { method: string; path: string; headers: Record<string, string> }
            http_response: { status: number }
          }
          const ua = entry.http_request.headers["user-agent"]
          if (
            entry.http_request.method === "POST" &&
            entry.http_request.path === "/self-service/login" &&
            ua
          ) {
            out.set(ua, entry.http_response.status)
          }
        }
        return out
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error("Kratos's log did not catch up")
  }

  private read(): string {
    const fd = openSync(this.file, "r")
    try {
      const size = fstatSync(fd).size
      const buf = Buffer.alloc(size - this.start)
      readSync(fd, buf, 0, buf.length, this.start)
      return buf.toString("utf8")
    } finally {
      closeSync(fd)
    }
  }
}

export const WEAK = [
  "aaaaaaaaaaaa",
  "alllowercase12345",
  "Short1!",
  "NoDigitsHere!!",
  "nosymbol12345A",
]

/** The body fields of a password submission: weak, or a weak and a strong value for one key. */
export const passwordFields = fc.oneof(
  fc
    .constantFrom(...WEAK)
    .map((w) => ({ weak: w, fields: [["password", w]] as [string, unknown][] })),
  fc.tuple(fc.constantFrom(...WEAK), fc.boolean()).map(([w, weakFirst]) => ({
    weak: w,
    fields: (weakFirst
      ? [
          ["password", w],
          ["password", STRONG_PASSWORD],
        ]
      : [
          ["password", STRONG_PASSWORD],
          ["password", w],
        ]) as [string, unknown][],
  })),
)

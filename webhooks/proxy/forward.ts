import http, {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http"
import type { Request } from "express"

/** Headers Kratos trusts for the client IP; a browser must not be able to set them. */
export const CLIENT_IP_HEADERS = [
  "true-client-ip",
  "cf-connecting-ip",
  "x-real-ip",
  "cf-ipcity",
  "cf-ipcountry",
]

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1), those the buffered body makes stale, and the service's
 * own (Kratos has no use for them, and its request log would print them).
 */
const NOT_FORWARDED = new Set([
  "x-kratos-guard-key",
  "x-kratos-guard-csrf",
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "content-length",
  "x-forwarded-for",
  "http2-settings",
  ...CLIENT_IP_HEADERS,
])

/** For a body streamed through as it arrives: its length stays what the client said. */
const NOT_FORWARDED_STREAMING = new Set([...NOT_FORWARDED].filter((h) => h !== "content-length"))

const NOT_RETURNED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
])

/**
 * Sends a request whose body the proxy has already read to Kratos public: the exact bytes, with
 * their length, to `path` (the path the proxy inspected) plus the original query string. The
 * client-IP headers are handled as in the streaming proxy: dropped, then True-Client-IP set from
 * the address Express resolved. Resolves with Kratos's response, unread.
 */
export function forwardBuffered(
  target: URL,
  agent: http.Agent,
  req: Request,
  path: string,
  query: string,
  body: Buffer,
): Promise<IncomingMessage> {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value
  }
  headers.host = target.host
  headers["content-length"] = String(body.length)
  if (req.ip) headers["true-client-ip"] = req.ip
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: `${target.pathname.replace(/\/$/, "")}${path}${query ? `?${query}` : ""}`,
        headers,
        agent,
      },
      resolve,
    )
    upstream.on("error", reject)
    upstream.end(body)
  })
}

/**
 * Passes a request through to Kratos public as it arrives (body streamed, not read), with the
 * same header rules as `forwardBuffered`, and relays the answer. `onUnreachable` runs when
 * Kratos can't be reached or the connection to it breaks before an answer.
 *
 * A plain `http.request` pipe: the proxy library it replaces spent more CPU per request than
 * this whole function on the hot pass-through paths (whoami, flow fetches).
 */
export function forwardStreaming(
  target: URL,
  agent: http.Agent,
  req: Request,
  res: ServerResponse,
  onUnreachable: (err: Error) => void,
): void {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !NOT_FORWARDED_STREAMING.has(name)) headers[name] = value
  }
  headers.host = target.host
  if (req.ip) headers["true-client-ip"] = req.ip
  const upstream = http.request({
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    method: req.method,
    path: `${target.pathname.replace(/\/$/, "")}${req.originalUrl}`,
    headers,
    agent,
  })
  let clientGone = false
  upstream.on("response", (answer) => relayResponse(answer, res))
  upstream.on("error", (err) => {
    if (!clientGone) onUnreachable(err)
  })
  // The client went away before Kratos answered: stop the request to Kratos too.
  res.on("close", () => {
    if (!res.writableFinished && !upstream.destroyed) {
      clientGone = true
      upstream.destroy()
    }
  })
  req.pipe(upstream)
}

/** Relays Kratos's response (status, headers incl. every Set-Cookie, body) to the client. */
export function relayResponse(upstream: IncomingMessage, res: ServerResponse): void {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !NOT_RETURNED.has(name)) headers[name] = value
  }
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, headers)
  // A connection cut mid-body on either side ends the other (pipe forwards neither).
  upstream.on("error", () => res.destroy())
  res.on("close", () => {
    if (!upstream.complete) upstream.destroy()
  })
  upstream.pipe(res)
}

/** The answer when Kratos public can't be reached (same body as the streaming proxy's). */
export function sendUnreachable(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(502, { "content-type": "application/json" })
  res.end(
    JSON.stringify({
      error: { code: 502, status: "Bad Gateway", message: "The identity service is unreachable." },
    }),
  )
}

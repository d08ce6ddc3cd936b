import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Request } from "express"
import type { PublicRequest } from "../kratos/public"
import { type BodyFormat, contentTypeOf } from "./canonical"

/**
 * The client's headers Kratos uses besides the session: content negotiation (`Accept` decides
 * between a JSON answer and a redirect), the language of its messages, and the device
 * (`User-Agent`, shown in session lists). Everything else stays here; the body's headers, the
 * session and the client IP are set from decided values.
 */
const PASSED_HEADERS = ["accept", "accept-language", "user-agent", "origin", "referer"]

/** What the proxy decided to send to Kratos public. */
export interface KratosRequest {
  method: string
  /** A clean path from the allow-list (proxy/routes.ts). */
  path: string
  /** The re-encoded query string ("" for none). */
  query: string
  /** The caller's session, settled into one place (`sessionCredential`). */
  token: string | null
  cookies: [string, string][]
  body?: { format: BodyFormat; bytes: Buffer }
}

/**
 * The request to send, built from decided values only: the clean path, the re-encoded query
 * and body with their own Content-Type, the session as settled, the address Express resolved
 * (True-Client-IP), and the few client headers in `PASSED_HEADERS`.
 */
export function publicRequest(req: Request, out: KratosRequest): PublicRequest {
  const headers: Record<string, string> = {}
  for (const name of PASSED_HEADERS) {
    const value = req.headersDistinct[name]?.[0]
    if (value !== undefined) headers[name] = value
  }
  return {
    method: out.method,
    path: out.path,
    query: out.query,
    caller: { token: out.token, cookies: out.cookies },
    headers,
    clientIp: req.ip ?? null,
    ...(out.body
      ? { body: { contentType: contentTypeOf(out.body.format), bytes: out.body.bytes } }
      : {}),
  }
}

const NOT_RETURNED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
])

/** Where Kratos's answers must not send anyone: its internal origins. */
export interface InternalOrigins {
  kratosPublic: string
  kratosAdmin: string
  publicUrl: string
}

/**
 * Relays Kratos's response (status, headers incl. every Set-Cookie, body) to the client. A
 * `Location` on Kratos's internal public origin is moved to the public URL; one on its admin
 * origin is never shown (404): the internal network's addresses don't leave the service.
 */
export function relayResponse(
  upstream: IncomingMessage,
  res: ServerResponse,
  origins?: InternalOrigins,
): void {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !NOT_RETURNED.has(name)) headers[name] = value
  }
  const location = typeof headers.location === "string" ? headers.location : undefined
  if (location && origins) {
    const moved = publicLocation(location, origins)
    if (moved === null) {
      upstream.resume()
      sendJsonError(res, 404, "Not Found", "This address is not served here.")
      return
    }
    headers.location = moved
  }
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, headers)
  // A connection cut mid-body on either side ends the other (pipe forwards neither).
  upstream.on("error", () => res.destroy())
  res.on("close", () => {
    if (!upstream.complete) upstream.destroy()
  })
  upstream.pipe(res)
}

function publicLocation(location: string, o: InternalOrigins): string | null {
  let url: URL
  try {
    url = new URL(location, o.publicUrl)
  } catch {
    return location
  }
  if (url.origin === new URL(o.kratosAdmin).origin) return null
  if (url.origin === new URL(o.kratosPublic).origin) {
    return `${o.publicUrl.replace(/\/$/, "")}${url.pathname}${url.search}${url.hash}`
  }
  return location
}

/** An error in Kratos's own error shape (`{ error: { code, status, message } }`). */
export function sendJsonError(
  res: ServerResponse,
  code: number,
  status: string,
  message: string,
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" })
  res.end(JSON.stringify({ error: { code, status, message } }))
}

/** The answer when Kratos public can't be reached. */
export function sendUnreachable(res: ServerResponse): void {
  sendJsonError(res, 502, "Bad Gateway", "The identity service is unreachable.")
}

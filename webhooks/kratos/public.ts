import http, { type IncomingMessage, type OutgoingHttpHeaders } from "node:http"
import https from "node:https"
import type { Session } from "@ory/client"
import { callerHeaders, type KratosCaller } from "./caller"
import type { KratosFlow } from "./flows"
import { createUpstream } from "./transport"

export type FlowKind = "login" | "registration" | "settings" | "recovery" | "verification"

export type FlowFetch =
  | { ok: true; flow: KratosFlow; setCookie: string[] }
  | { ok: false; status: number; body: string; contentType: string }

/** What the proxy decided to send to Kratos public (proxy/guards.ts), body already encoded. */
export interface PublicRequest {
  method: string
  /** A clean path from the proxy's allow-list. */
  path: string
  /** The re-encoded query string ("" for none). */
  query: string
  caller: KratosCaller
  /** The client headers Kratos uses besides the session (Accept, User-Agent, …). */
  headers: Record<string, string>
  /** The client's address, as Express resolved it (sent as True-Client-IP). */
  clientIp: string | null
  body?: { contentType: string; bytes: Buffer }
}

/** A session lookup or session call was made without a valid session. */
export class KratosUnauthorized extends Error {
  constructor() {
    super("Kratos refused the caller's session")
  }
}

/**
 * Kratos public, as the caller: the session behind their credentials, their sessions, their
 * self-service flows, and the submissions the proxy forwards. One agent for all of it.
 */
export interface KratosPublic {
  /** The caller's session; null when they have none Kratos accepts. */
  whoami(caller: KratosCaller): Promise<Session | null>
  /** One page of the caller's other sessions (`GET /sessions`); throws KratosUnauthorized. */
  sessions(caller: KratosCaller, page: number, perPage: number): Promise<Session[]>
  /** Revokes one of the caller's sessions; false when it isn't one of theirs. */
  revokeSession(caller: KratosCaller, sessionId: string): Promise<boolean>
  /** `GET /self-service/<kind>/flows?id=` as the caller. */
  getFlow(kind: FlowKind, id: string, caller: KratosCaller): Promise<FlowFetch>
  /**
   * `GET /self-service/<kind>/browser` as JSON, for a page the service renders with its flow:
   * the flow and the cookies Kratos sets with it (CSRF), as the browser's own request would get.
   * `out` is what the caller decided to send (path and query from its allow-list).
   */
  createBrowserFlow(out: PublicRequest): Promise<FlowFetch>
  /** Sends a decided request and resolves with Kratos's answer, unread (for relaying). */
  forward(out: PublicRequest): Promise<IncomingMessage>
}

const UNREACHABLE = JSON.stringify({
  error: { code: 502, status: "Bad Gateway", message: "The identity service is unreachable." },
})

/** Kratos's answer as text, whatever its status: flowAnswer reads it. */
const asText = {
  responseType: "text",
  transformResponse: (body: string) => body,
} as const

/** A flow from Kratos's answer, with its Set-Cookie headers; anything else as it came. */
async function flowAnswer(
  call: () => Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>,
): Promise<FlowFetch> {
  let res
  try {
    res = await call()
  } catch {
    return { ok: false, status: 502, body: UNREACHABLE, contentType: "application/json" }
  }
  const body = typeof res.data === "string" ? res.data : ""
  const contentType = String(res.headers["content-type"] ?? "application/json")
  if (res.status !== 200) return { ok: false, status: res.status, body, contentType }
  try {
    const flow = JSON.parse(body) as KratosFlow
    if (!Array.isArray(flow?.ui?.nodes)) throw new Error("not a flow")
    const setCookie = res.headers["set-cookie"]
    return { ok: true, flow, setCookie: Array.isArray(setCookie) ? (setCookie as string[]) : [] }
  } catch {
    return { ok: false, status: 502, body: UNREACHABLE, contentType: "application/json" }
  }
}

export function createKratosPublic(publicUrl: string): KratosPublic {
  const upstream = createUpstream(publicUrl)
  const { base, agent } = upstream
  const json = (caller: KratosCaller) => ({ ...callerHeaders(caller), accept: "application/json" })
  /** The whole call, socket wait included, is bounded. */
  const bounded = () => ({ signal: AbortSignal.timeout(upstream.timeoutMs) })
  const refused = (status: number) => status === 401 || status === 403

  return {
    whoami: async (caller) => {
      if (!caller.token && caller.cookies.length === 0) return null
      const res = await upstream.http.get<Session>("/sessions/whoami", {
        headers: json(caller),
        ...bounded(),
      })
      if (res.status === 200 && res.data?.identity) return res.data
      if (refused(res.status)) return null
      throw new Error(`Kratos whoami answered ${res.status}`)
    },

    sessions: async (caller, page, perPage) => {
      const res = await upstream.http.get<Session[]>("/sessions", {
        params: { per_page: perPage, page },
        headers: json(caller),
        ...bounded(),
      })
      if (refused(res.status)) throw new KratosUnauthorized()
      if (res.status !== 200 || !Array.isArray(res.data)) {
        throw new Error(`Kratos GET /sessions answered ${res.status}`)
      }
      return res.data
    },

    revokeSession: async (caller, sessionId) => {
      const res = await upstream.http.delete(`/sessions/${encodeURIComponent(sessionId)}`, {
        headers: json(caller),
        ...bounded(),
      })
      if (res.status === 204 || res.status === 200) return true
      if (res.status === 404) return false
      if (refused(res.status)) throw new KratosUnauthorized()
      throw new Error(`Kratos DELETE /sessions/{id} answered ${res.status}`)
    },

    getFlow: (kind, id, caller) =>
      flowAnswer(() =>
        upstream.http.get<string>(`/self-service/${kind}/flows`, {
          params: { id },
          headers: json(caller),
          ...asText,
          ...bounded(),
        }),
      ),

    createBrowserFlow: (out) =>
      flowAnswer(() =>
        upstream.http.get<string>(`${out.path}${out.query ? `?${out.query}` : ""}`, {
          headers: {
            ...out.headers,
            ...json(out.caller),
            ...(out.clientIp ? { "true-client-ip": out.clientIp } : {}),
          },
          // Kratos answers a JSON request with the flow; a redirect here means something else
          // (already signed in), which the page then deals with in the browser.
          maxRedirects: 0,
          ...asText,
          ...bounded(),
        }),
      ),

    forward: (out) => {
      const headers: OutgoingHttpHeaders = { ...out.headers, host: base.host }
      Object.assign(headers, callerHeaders(out.caller))
      if (out.clientIp) headers["true-client-ip"] = out.clientIp
      if (out.body) {
        headers["content-type"] = out.body.contentType
        headers["content-length"] = String(out.body.bytes.length)
      }
      const request = base.protocol === "https:" ? https.request : http.request
      return new Promise((resolve, reject) => {
        const call = request(
          {
            protocol: base.protocol,
            hostname: base.hostname,
            port: base.port,
            method: out.method,
            path: `${base.pathname.replace(/\/$/, "")}${out.path}${out.query ? `?${out.query}` : ""}`,
            headers,
            agent,
            timeout: upstream.timeoutMs * 6,
          },
          resolve,
        )
        call.on("timeout", () => call.destroy(new Error("Kratos public timed out")))
        call.on("error", reject)
        call.end(out.body?.bytes)
      })
    },
  }
}

/**
 * The Kratos public routes a browser or a native app needs, by method and clean path
 * (see `cleanPath`). Nothing else of Kratos public is reachable through the service: not its
 * `/health/*`, not the routes it redirects to its admin API, not a spelling its router would
 * clean or case-fold into one of these.
 */

import type { FlowKind } from "../kratos/public"

export type KratosRoute =
  /** A self-service submission: parsed, decided and re-serialised (proxy/guards.ts). */
  | { kind: "submit"; flow: FlowKind }
  /**
   * A read or a body-less action, forwarded with a re-serialised query string; `query` lists the
   * parameters Kratos reads there (null: any, each once).
   */
  | { kind: "pass"; query: readonly string[] | null }
  /** Native logout: `{ "session_token": … }`, re-serialised. */
  | { kind: "logout-api" }

const FLOWS: readonly FlowKind[] = ["settings", "registration", "login", "recovery", "verification"]
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const SCHEMA_ID = /^[A-Za-z0-9_=-]{1,200}$/

const PASS_ANY: KratosRoute = { kind: "pass", query: null }

/**
 * The route for a method and clean path; null when the service does not offer it. GET
 * submissions: Kratos routes `GET /self-service/<flow>` to the submit handler and decodes the
 * query string as the form. A settings GET resumes a change paused for re-authentication (the
 * change itself is in Kratos's continuity cookie), so only `flow` is forwarded and a password in
 * the query never reaches Kratos; recovery and verification GETs are the emailed links (`flow`
 * and `code` or `token`); login and registration GET submissions have no use and are not offered.
 */
export function kratosRoute(method: string, path: string): KratosRoute | null {
  const parts = path.split("/").slice(1)
  if (parts[0] === "self-service") return selfService(method, parts.slice(1))
  if (parts[0] === "sessions") {
    if (parts.length === 1) return method === "GET" || method === "DELETE" ? PASS_ANY : null
    if (parts.length !== 2) return null
    if (parts[1] === "whoami" || parts[1] === "token-exchange") {
      return method === "GET" ? PASS_ANY : null
    }
    return method === "DELETE" && UUID.test(parts[1]!) ? { kind: "pass", query: [] } : null
  }
  if (method !== "GET") return null
  if (path === "/.well-known/ory/webauthn.js") return { kind: "pass", query: [] }
  if (path === "/schemas") return PASS_ANY
  if (parts[0] === "schemas" && parts.length === 2 && SCHEMA_ID.test(parts[1]!)) {
    return { kind: "pass", query: [] }
  }
  return null
}

function selfService(method: string, parts: string[]): KratosRoute | null {
  const [first, second] = parts
  if (parts.length === 1 && first === "errors") return method === "GET" ? PASS_ANY : null
  if (first === "logout") {
    if (parts.length === 1)
      return method === "GET" ? { kind: "pass", query: ["token", "return_to"] } : null
    if (second === "browser" && parts.length === 2) return method === "GET" ? PASS_ANY : null
    if (second === "api" && parts.length === 2)
      return method === "DELETE" ? { kind: "logout-api" } : null
    return null
  }
  const flow = FLOWS.find((f) => f === first)
  if (!flow) return null
  if (parts.length === 1) {
    if (method === "POST") return { kind: "submit", flow }
    if (method !== "GET") return null
    if (flow === "settings") return { kind: "pass", query: ["flow"] }
    if (flow === "recovery" || flow === "verification") {
      return { kind: "pass", query: ["flow", "code", "token"] }
    }
    return null
  }
  if (parts.length === 2 && (second === "browser" || second === "api" || second === "flows")) {
    return method === "GET" ? PASS_ANY : null
  }
  return null
}

/**
 * Whether a clean path is in the part of the origin given to Kratos: the proxy answers it or
 * refuses it (404); it never reaches the UI's routes.
 */
export function isKratosPath(path: string): boolean {
  return (
    path.startsWith("/self-service/") ||
    path === "/sessions" ||
    path.startsWith("/sessions/") ||
    path.startsWith("/.well-known/ory/") ||
    path === "/schemas" ||
    path.startsWith("/schemas/")
  )
}

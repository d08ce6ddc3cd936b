/**
 * Reading self-service flows from Kratos public (internal URL) on behalf of the client, and
 * editing them the way Kratos does when it answers a validation error, so a refusal by the
 * proxy looks to the flow client (elements-react, a native app) exactly like one by Kratos.
 */

export type FlowKind = "settings" | "registration" | "login"

export interface UiText {
  id: number
  text: string
  type: "error" | "info" | "success"
  context: Record<string, unknown>
}

export interface UiNode {
  type: string
  group: string
  attributes: { name?: string; type?: string; value?: unknown; [k: string]: unknown }
  messages?: UiText[]
  meta?: Record<string, unknown>
}

export interface KratosFlow {
  id: string
  type: string
  ui: { action: string; method: string; nodes: UiNode[]; messages?: UiText[] }
  [k: string]: unknown
}

export type FlowFetch =
  | { ok: true; flow: KratosFlow; setCookie: string[] }
  | { ok: false; status: number; body: string; contentType: string }

/**
 * Only these request headers identify the caller to Kratos when we read a flow for them: the
 * ones Kratos reads a session from (session/manager_http.go extractToken).
 */
const CALLER_HEADERS = ["cookie", "x-session-token", "authorization"] as const

type CallerHeaders = Partial<Record<string, string | string[] | undefined>>

function callerHeaders(from: CallerHeaders): Record<string, string> {
  const out: Record<string, string> = { accept: "application/json" }
  for (const h of CALLER_HEADERS) {
    const v = from[h]
    if (typeof v === "string") out[h] = v
  }
  return out
}

const UNREACHABLE = JSON.stringify({
  error: { code: 502, status: "Bad Gateway", message: "The identity service is unreachable." },
})

export interface KratosPublic {
  /** `GET /self-service/<kind>/flows?id=` as the caller (their cookie / session token). */
  getFlow(kind: FlowKind, id: string, headers: CallerHeaders): Promise<FlowFetch>
}

export function createKratosPublic(baseUrl: string, timeoutMs = 5000): KratosPublic {
  return {
    async getFlow(kind, id, headers) {
      const url = `${baseUrl}/self-service/${kind}/flows?id=${encodeURIComponent(id)}`
      let res: Response
      try {
        res = await fetch(url, {
          headers: callerHeaders(headers),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch {
        return { ok: false, status: 502, body: UNREACHABLE, contentType: "application/json" }
      }
      const body = await res.text()
      const contentType = res.headers.get("content-type") ?? "application/json"
      if (res.status !== 200) return { ok: false, status: res.status, body, contentType }
      try {
        const flow = JSON.parse(body) as KratosFlow
        if (!Array.isArray(flow?.ui?.nodes)) throw new Error("not a flow")
        return { ok: true, flow, setCookie: res.headers.getSetCookie() }
      } catch {
        return { ok: false, status: 502, body: UNREACHABLE, contentType: "application/json" }
      }
    },
  }
}

/** Kratos clears every message before it renders a new validation result (`ResetMessages`). */
export function resetMessages(flow: KratosFlow): void {
  flow.ui.messages = []
  for (const node of flow.ui.nodes) node.messages = []
}

export function errorText(id: number, text: string, context: Record<string, unknown> = {}): UiText {
  return { id, text, type: "error", context }
}

/**
 * Adds messages under the input named `name` (e.g. `password`), as Kratos does for a
 * `#/password` validation error. When the flow has no such input (two-step registration still
 * choosing a method), Kratos adds one to the `default` group to carry the messages; so do we,
 * as a password input (Kratos makes it a text input) placed before the CSRF token.
 */
export function addFieldMessages(flow: KratosFlow, name: string, messages: UiText[]): void {
  const nodes = flow.ui.nodes.filter((n) => n.type === "input" && n.attributes.name === name)
  for (const node of nodes) node.messages = [...(node.messages ?? []), ...messages]
  if (nodes.length > 0) return
  const created: UiNode = {
    type: "input",
    group: "default",
    attributes: { name, type: "password", disabled: false, node_type: "input" },
    messages,
    meta: {},
  }
  const csrf = flow.ui.nodes.findIndex((n) => n.attributes.name === "csrf_token")
  flow.ui.nodes.splice(csrf < 0 ? flow.ui.nodes.length : csrf, 0, created)
}

export function addFlowMessage(flow: KratosFlow, message: UiText): void {
  flow.ui.messages = [...(flow.ui.messages ?? []), message]
}

/**
 * Puts submitted values back into the matching inputs (Kratos re-renders a refused form with
 * what the person typed), for the names `keep` accepts. Never passwords or hidden fields.
 */
export function refillValues(
  flow: KratosFlow,
  submitted: Map<string, unknown>,
  keep: (name: string) => boolean,
): void {
  for (const node of flow.ui.nodes) {
    const { name, type } = node.attributes
    if (node.type !== "input" || !name || !keep(name)) continue
    if (type === "password" || type === "hidden" || type === "submit" || type === "button") continue
    const value = submitted.get(name)
    if (value !== undefined && (typeof value !== "object" || value === null)) {
      node.attributes.value = value
    }
  }
}

/**
 * Self-service flows as Kratos answers them, and the edits Kratos itself makes when it answers
 * a validation error, so a refusal by the proxy looks to the flow client (elements-react, a
 * native app) exactly like one by Kratos.
 */

import type { UiText } from "../policy/submission"

export type { UiText }

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

/** Kratos clears every message before it renders a new validation result (`ResetMessages`). */
export function resetMessages(flow: KratosFlow): void {
  flow.ui.messages = []
  for (const node of flow.ui.nodes) node.messages = []
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

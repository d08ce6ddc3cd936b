import type { SettingsFlow, UiNode, UiText, UpdateSettingsFlowBody } from "@ory/client-fetch"
import { browserFlowUrl, frontend, loginUrlReturningHere, navigate, toApiFailure } from "../sdk"

export type SubmitResult =
  | { kind: "saved"; flow: SettingsFlow }
  | { kind: "invalid"; flow: SettingsFlow }
  | { kind: "refresh_required" }
  | { kind: "failed"; message: string }
  /** The page is navigating away (signed out, flow expired and restarting). */
  | { kind: "leaving" }

/** Submits a settings flow as JSON and sorts Kratos's answer into what the page does next. */
export async function submitSettings(
  flow: SettingsFlow,
  body: UpdateSettingsFlowBody,
): Promise<SubmitResult> {
  try {
    const saved = await frontend.updateSettingsFlow({ flow: flow.id, updateSettingsFlowBody: body })
    return { kind: "saved", flow: saved }
  } catch (err) {
    const failure = await toApiFailure(err)
    if (failure.kind === "network") {
      return {
        kind: "failed",
        message: "Can't reach the server. Check your connection and try again.",
      }
    }
    const { status, body: errorBody } = failure
    const errorId = errorBody.error?.id
    if (status === 400 && isFlow(errorBody)) return { kind: "invalid", flow: errorBody }
    if (errorId === "session_refresh_required") return { kind: "refresh_required" }
    if (status === 401 || errorId === "session_inactive") {
      navigate(loginUrlReturningHere())
      return { kind: "leaving" }
    }
    if (errorId === "session_aal2_required" && errorBody.redirect_browser_to) {
      navigate(errorBody.redirect_browser_to)
      return { kind: "leaving" }
    }
    if (status === 410 || status === 404 || errorId === "security_csrf_violation") {
      navigate(browserFlowUrl("settings"))
      return { kind: "leaving" }
    }
    return {
      kind: "failed",
      message:
        errorBody.error?.reason ??
        errorBody.error?.message ??
        `The change could not be saved (status ${status}).`,
    }
  }
}

function isFlow(body: unknown): body is SettingsFlow {
  return !!body && typeof body === "object" && "ui" in body && "id" in body
}

export function csrfToken(flow: SettingsFlow): string {
  const node = flow.ui.nodes.find(
    (n) => n.attributes.node_type === "input" && n.attributes.name === "csrf_token",
  )
  const value = node && node.attributes.node_type === "input" ? node.attributes.value : ""
  return typeof value === "string" ? value : ""
}

export function inputNode(flow: SettingsFlow, name: string): UiNode | undefined {
  return flow.ui.nodes.find((n) => n.attributes.node_type === "input" && n.attributes.name === name)
}

/** Messages Kratos attached to a field, plus the flow-level ones. */
export function messagesFor(flow: SettingsFlow, name: string): UiText[] {
  return [...(inputNode(flow, name)?.messages ?? []), ...(flow.ui.messages ?? [])]
}

export function hasGroup(flow: SettingsFlow, group: string): boolean {
  return flow.ui.nodes.some((n) => n.group === group)
}

import type { LoginFlow, Middleware } from "@ory/client-fetch"

/** Our message id for a deactivated account at sign-in (our range, never sent by a server). */
export const ACCOUNT_DISABLED_NOTICE = 4100030

export const accountDisabledText =
  "This account has been deactivated, so it can't sign in. If you think this is a mistake, contact your administrator."

/** Kratos's `ErrIdentityDisabled`: a 401 whose reason is "This account was disabled." */
function isIdentityDisabled(body: unknown): boolean {
  const error = (body as { error?: { message?: unknown; reason?: unknown } } | null)?.error
  return error?.message === "identity is disabled" || error?.reason === "This account was disabled."
}

/**
 * Turns Kratos's 401 for a deactivated account at sign-in into what a refused attempt looks
 * like: the login flow (fetched again) with our message in it, as a 400. Elements handles a
 * 400 by showing the flow; a 401 from a submit it only throws, and the person saw nothing.
 */
export const disabledAccountMiddleware: Middleware = {
  async post({ url, init, response, fetch }) {
    if (response.status !== 401 || (init.method ?? "GET").toUpperCase() !== "POST") return
    const target = new URL(url, window.location.origin)
    const flowId = target.searchParams.get("flow")
    if (target.pathname !== "/self-service/login" || !flowId) return
    let body: unknown
    try {
      body = await response.clone().json()
    } catch {
      return
    }
    if (!isIdentityDisabled(body)) return
    const again = await fetch(
      new URL(`/self-service/login/flows?id=${encodeURIComponent(flowId)}`, target).href,
      { credentials: "include", headers: { Accept: "application/json" } },
    )
    if (!again.ok) return
    const flow = (await again.json()) as LoginFlow
    const refused: LoginFlow = {
      ...flow,
      ui: {
        ...flow.ui,
        messages: [{ id: ACCOUNT_DISABLED_NOTICE, type: "error", text: accountDisabledText }],
        nodes: flow.ui.nodes.map((n) => (n.messages.length > 0 ? { ...n, messages: [] } : n)),
      },
    }
    return new Response(JSON.stringify(refused), {
      status: 400,
      headers: { "Content-Type": "application/json" },
    })
  },
}

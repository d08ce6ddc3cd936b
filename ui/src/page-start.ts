import { pagePath, SERVED_FLOW_ID } from "../../webhooks/routes/ui-pages"
import { takeRefusal } from "./refusal"

/**
 * What a page does before its code has loaded: this module is the whole of the UI's first
 * script (ui/src/main.tsx), so it imports nothing heavy. It puts the address in order and
 * starts the request for the page's Kratos flow, which then runs beside the download of React,
 * elements-react and the page: on a slow phone line that request was the last thing the sign-in
 * form waited for.
 */

export type FlowKind = "login" | "registration" | "recovery" | "verification" | "settings"

// Only these parameters mean something to Kratos' browser-flow endpoints; everything else in
// the UI URL (notably a stale `flow`) must not leak into the new flow.
/** Query parameters a flow page passes on to Kratos when it creates the flow. */
export const forwardedParams = ["return_to", "refresh", "aal"] as const

/** The flow pages, by path. */
const flowPages: Record<string, FlowKind> = {
  "/login": "login",
  "/registration": "registration",
  "/recovery": "recovery",
  "/verification": "verification",
  "/settings": "settings",
}

/** Kratos's address that creates a browser flow, with the page's forwarded parameters. */
export function browserFlowUrl(kind: FlowKind, from = window.location.href) {
  const current = new URL(from)
  const url = new URL(`/self-service/${kind}/browser`, window.location.origin)
  for (const name of forwardedParams) {
    const value = current.searchParams.get(name)
    if (value) url.searchParams.set(name, value)
  }
  return url.href
}

/**
 * Runs once, first: the address as the page reads it, then the flow's request, unless the
 * service rendered the page with its flow already (servedFlow). Resolves when the app may load:
 * at once, or for a page the service rendered, once its form is on screen, so that the form's
 * first paint doesn't share the line with the script that makes it interactive.
 */
export function startPage(): Promise<{ served: boolean }> {
  restorePageParams()
  takeRefusal()
  served = readServedFlow()
  if (served === undefined) {
    loadFlowEarly()
    return Promise.resolve({ served: false })
  }
  return new Promise((resolve) =>
    requestAnimationFrame(() => setTimeout(() => resolve({ served: true }), 0)),
  )
}

let served: unknown

function readServedFlow(): unknown {
  const el = document.getElementById(SERVED_FLOW_ID)
  if (!el?.textContent) return undefined
  el.remove()
  try {
    return JSON.parse(el.textContent) as unknown
  } catch {
    return undefined
  }
}

/** The login flow the service rendered this page with, as Kratos answered it; once. */
export function takeServedFlow(): unknown {
  const taken = served
  served = undefined
  return taken
}

const pageParamsKey = (path: string) => `kratos-guard:page-params:${path}`

/**
 * The page's own query parameters (the settings tab, the reason a user was sent there) do not
 * survive Kratos's round trip: it sends the browser back to `<ui_url>?flow=<id>`. They are
 * kept for the way back, where restorePageParams puts them into the address again.
 */
export function keepPageParams() {
  const params = new URLSearchParams(window.location.search)
  for (const name of ["flow", ...forwardedParams]) params.delete(name)
  try {
    if ([...params.keys()].length > 0)
      sessionStorage.setItem(pageParamsKey(window.location.pathname), params.toString())
  } catch {
    // Without storage the page opens on its default tab.
  }
}

/**
 * Back from Kratos with `?flow=`, adds the parameters keepPageParams saved for this path
 * (those the address does not already have).
 */
function restorePageParams() {
  const url = new URL(window.location.href)
  if (!url.searchParams.has("flow")) return
  try {
    const key = pageParamsKey(url.pathname)
    const saved = sessionStorage.getItem(key)
    sessionStorage.removeItem(key)
    if (!saved) return
    for (const [name, value] of new URLSearchParams(saved)) {
      if (!url.searchParams.has(name)) url.searchParams.append(name, value)
    }
    window.history.replaceState(window.history.state, "", url)
  } catch {
    // Storage unavailable: the page opens on its default tab.
  }
}

/**
 * The request for this page's flow: creating it by a JSON request to the address a browser
 * would be sent to (Kratos answers with the flow, cookies and CSRF as for the redirect), or
 * reading the flow the address names. Kratos's answer is kept as it came; useFlow reads it.
 */
export interface EarlyFlow {
  kind: FlowKind
  id: string | null
  response: Promise<Response>
}

let early: EarlyFlow | undefined

function loadFlowEarly() {
  const kind = flowPages[pagePath(window.location.pathname)]
  if (!kind) return
  const id = new URLSearchParams(window.location.search).get("flow")
  const url = id
    ? `${window.location.origin}/self-service/${kind}/flows?id=${encodeURIComponent(id)}`
    : browserFlowUrl(kind)
  const response = fetch(url, {
    credentials: "include",
    headers: { Accept: "application/json" },
    redirect: "manual",
  }).then(whole)
  // A failure is dealt with by the page that takes it.
  response.catch(() => undefined)
  early = { kind, id, response }
}

/**
 * The answer with its body read: a page that never takes it (a tab that shows no form) must not
 * leave a download open.
 */
async function whole(res: Response): Promise<Response> {
  if (res.type === "opaqueredirect") return res
  const body = await res.arrayBuffer()
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  })
}

/** The early request, once, when it is the one the page asks for. */
export function takeEarlyFlow(kind: FlowKind, id: string | null): Promise<Response> | undefined {
  const taken = early
  early = undefined
  return taken && taken.kind === kind && taken.id === id ? taken.response : undefined
}

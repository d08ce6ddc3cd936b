import { createContext, startTransition, useContext, useEffect, useState } from "react"
import { uiUrls } from "./ory.config"
import { forwardedParams, keepPageParams, takeEarlyFlow } from "./page-start"
import {
  browserFlowUrl,
  createdFlow,
  createFlow,
  getFlow,
  readFlow,
  loginUrlReturningHere,
  navigate,
  toApiFailure,
  type FlowByKind,
  type FlowKind,
} from "./sdk"

/**
 * A flow the server fetched and rendered the page with (ui/src/server-render.tsx): the page's
 * first render, on the server and again in the browser when React hydrates it, shows this flow
 * instead of loading one, so both render the same form.
 */
export type ServedFlow = { [K in FlowKind]: { kind: K; flow: FlowByKind[K] } }[FlowKind]

export const ServedFlowContext = createContext<ServedFlow | null>(null)

export type FlowState<T> =
  | { status: "loading" }
  | { status: "ready"; flow: T }
  | { status: "failed"; title: string; message: string }

/**
 * Loads the flow named by `?flow=`, or asks Kratos to create one (by a JSON request, or else
 * the browser way: Kratos redirects back here with `?flow=`). Recoverable failures navigate
 * away and leave the state at "loading".
 */
export function useFlow<K extends FlowKind>(kind: K): FlowState<FlowByKind[K]> {
  const served = useContext(ServedFlowContext)
  const servedFlow = served?.kind === kind ? (served.flow as FlowByKind[K]) : null
  const [state, setState] = useState<FlowState<FlowByKind[K]>>(() =>
    servedFlow ? { status: "ready", flow: servedFlow } : { status: "loading" },
  )

  // The flow's form is the page's largest render: as a transition React renders it in slices
  // and the main thread stays free for input in between.
  const showFlow = (flow: FlowByKind[K]) =>
    startTransition(() => setState({ status: "ready", flow }))

  useEffect(() => {
    if (servedFlow) {
      // The address says which flow this is, as Kratos's redirect would have.
      showFlowInAddress(servedFlow.id)
      forgetRestarts(kind)
      return
    }
    let active = true
    const id = new URLSearchParams(window.location.search).get("flow")
    if (!id) {
      // One request instead of a round trip through Kratos's redirect, which loaded the page
      // and its scripts a second time.
      void (takeEarly(kind, null) ?? createFlow(kind)).then((flow) => {
        if (!active) return
        if (flow) {
          showFlowInAddress(flow.id)
          showFlow(flow)
          return
        }
        const failed = restartFlow(kind)
        if (failed) setState(failed)
      })
      return () => {
        active = false
      }
    }
    // Side effects (navigation, the restart counter) only for the live effect: StrictMode runs
    // effects twice in development, and two instances would double-count restarts.
    ;(takeEarly(kind, id) ?? getFlow[kind](id)).then(
      (flow) => {
        if (!active) return
        forgetRestarts(kind)
        showFlow(flow)
      },
      async (err: unknown) => {
        if (!active) return
        const failed = await recover(kind, err)
        if (active && failed) setState(failed)
      },
    )
    return () => {
      active = false
    }
  }, [kind, servedFlow])

  return state
}

function takeEarly<K extends FlowKind>(kind: K, id: null): Promise<FlowByKind[K] | null> | undefined
function takeEarly<K extends FlowKind>(kind: K, id: string): Promise<FlowByKind[K]> | undefined
/** The request ui/src/page-start.ts began for this flow, read as createFlow or getFlow would. */
function takeEarly<K extends FlowKind>(
  kind: K,
  id: string | null,
): Promise<FlowByKind[K] | null> | undefined {
  const response = takeEarlyFlow(kind, id)
  if (!response) return undefined
  return id === null ? createdFlow(kind, response) : readFlow(kind, response)
}

type Failed = { status: "failed"; title: string; message: string }

async function recover(kind: FlowKind, err: unknown): Promise<Failed | null> {
  const failure = await toApiFailure(err)
  if (failure.kind === "network") {
    return {
      status: "failed",
      title: "Can't reach the server",
      message: "Check your connection and try again.",
    }
  }
  const { status, body } = failure
  const errorId = body.error?.id

  switch (errorId) {
    case "session_already_available":
      navigate(uiUrls.afterLogin)
      return null
    case "session_aal2_required":
    case "browser_location_change_required":
    case "session_refresh_required":
      if (body.redirect_browser_to) {
        navigate(body.redirect_browser_to)
        return null
      }
      break
    case "session_inactive":
      navigate(loginUrlReturningHere())
      return null
  }
  if (status === 401) {
    navigate(loginUrlReturningHere())
    return null
  }
  // Expired (410), unknown (404), CSRF cookie mismatch or a flow for another identity (403):
  // all are fixed by starting over.
  if (status === 403 || status === 404 || status === 410) {
    return restartFlow(kind)
  }
  return {
    status: "failed",
    title: "Something went wrong",
    message:
      body.error?.reason ?? body.error?.message ?? `The server answered with status ${status}.`,
  }
}

const RESTART_WINDOW_MS = 30_000
const MAX_RESTARTS = 3

/**
 * Starts a fresh browser flow, unless we have already done so several times in a row: a flow
 * that fails right after creation usually means cookies are blocked, and restarting forever
 * would just spin the browser.
 */
function restartFlow(kind: FlowKind): Failed | null {
  const key = restartsKey(kind)
  const now = Date.now()
  let recent: number[] = []
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(key) ?? "[]")
    if (Array.isArray(stored)) {
      recent = stored.filter(
        (t): t is number => typeof t === "number" && now - t < RESTART_WINDOW_MS,
      )
    }
  } catch {
    // Storage unavailable or corrupted: treat as no history.
  }
  const hasFlowId = new URLSearchParams(window.location.search).has("flow")
  if (hasFlowId && recent.length >= MAX_RESTARTS) {
    forgetRestarts(kind)
    return {
      status: "failed",
      title: "We couldn't start a secure session",
      message: "Your browser may be blocking cookies for this site. Allow cookies and try again.",
    }
  }
  if (hasFlowId) {
    try {
      sessionStorage.setItem(key, JSON.stringify([...recent, now]))
    } catch {
      // Without storage we lose loop protection, not functionality.
    }
  }
  keepPageParams()
  navigate(browserFlowUrl(kind))
  return null
}

/**
 * The address Kratos's redirect would have given the page, `?flow=<id>` first, with the page's
 * own parameters after it (the settings tab, a reason) and without those Kratos took.
 */
function showFlowInAddress(id: string) {
  const url = new URL(window.location.href)
  const own = new URLSearchParams(url.search)
  for (const name of ["flow", ...forwardedParams]) own.delete(name)
  url.search = new URLSearchParams([["flow", id], ...own]).toString()
  window.history.replaceState(window.history.state, "", url)
}

const restartsKey = (kind: FlowKind) => `kratos-guard:restarts:${kind}`

function forgetRestarts(kind: FlowKind) {
  try {
    sessionStorage.removeItem(restartsKey(kind))
  } catch {
    // Nothing to forget without storage.
  }
}

import {
  Configuration,
  FrontendApi,
  LoginFlowFromJSON,
  RecoveryFlowFromJSON,
  RegistrationFlowFromJSON,
  ResponseError,
  SettingsFlowFromJSON,
  VerificationFlowFromJSON,
  type LoginFlow,
  type RecoveryFlow,
  type RegistrationFlow,
  type SettingsFlow,
  type VerificationFlow,
} from "@ory/client-fetch"
import { origin, uiUrls } from "./ory.config"
import { browserFlowUrl, type FlowKind } from "./page-start"
import { forgetSignedIn } from "./signed-in-marker"

export const frontend = new FrontendApi(
  new Configuration({
    basePath: origin,
    credentials: "include",
    headers: { Accept: "application/json" },
  }),
)

export { browserFlowUrl, forwardedParams, type FlowKind } from "./page-start"

export type FlowByKind = {
  login: LoginFlow
  registration: RegistrationFlow
  recovery: RecoveryFlow
  verification: VerificationFlow
  settings: SettingsFlow
}

const fromJson: { [K in FlowKind]: (json: unknown) => FlowByKind[K] } = {
  login: LoginFlowFromJSON,
  registration: RegistrationFlowFromJSON,
  recovery: RecoveryFlowFromJSON,
  verification: VerificationFlowFromJSON,
  settings: SettingsFlowFromJSON,
}

/**
 * Creates a browser flow without leaving the page: Kratos answers a JSON request to the same
 * address a browser would be sent to (cookies and CSRF as for the redirect) with the flow
 * itself. Null when it answers anything else (already signed in, sign-in needed, a refused
 * return_to): the caller then goes the browser way, where Kratos's redirects decide.
 */
export async function createFlow<K extends FlowKind>(kind: K): Promise<FlowByKind[K] | null> {
  return createdFlow(
    kind,
    fetch(browserFlowUrl(kind), {
      credentials: "include",
      headers: { Accept: "application/json" },
      redirect: "manual",
    }),
  )
}

/** Kratos's answer to a JSON request that creates a flow: the flow, or null (see createFlow). */
export async function createdFlow<K extends FlowKind>(
  kind: K,
  response: Promise<Response>,
): Promise<FlowByKind[K] | null> {
  try {
    const res = await response
    if (res.status !== 200) return null
    const json: unknown = await res.json()
    if (!json || typeof json !== "object" || typeof (json as { id?: unknown }).id !== "string")
      return null
    return fromJson[kind](json)
  } catch {
    return null
  }
}

/** Kratos's answer to a flow read, as the SDK's getFlow would give it (or throw it). */
export async function readFlow<K extends FlowKind>(
  kind: K,
  response: Promise<Response>,
): Promise<FlowByKind[K]> {
  const res = await response
  if (res.status < 200 || res.status >= 300)
    throw new ResponseError(res, "Response returned an error code")
  return fromJson[kind](await res.json())
}

export const getFlow: {
  [K in FlowKind]: (id: string) => Promise<FlowByKind[K]>
} = {
  login: (id) => frontend.getLoginFlow({ id }),
  registration: (id) => frontend.getRegistrationFlow({ id }),
  recovery: (id) => frontend.getRecoveryFlow({ id }),
  verification: (id) => frontend.getVerificationFlow({ id }),
  settings: (id) => frontend.getSettingsFlow({ id }),
}

/** Kratos' JSON error envelope, as far as this UI reads it. */
export type KratosErrorBody = {
  error?: { id?: string; code?: number; message?: string; reason?: string }
  redirect_browser_to?: string
}

export type ApiFailure =
  { kind: "response"; status: number; body: KratosErrorBody } | { kind: "network"; message: string }

export async function toApiFailure(err: unknown): Promise<ApiFailure> {
  if (err instanceof ResponseError) {
    let body: KratosErrorBody = {}
    try {
      const parsed: unknown = await err.response.clone().json()
      if (parsed && typeof parsed === "object") body = parsed as KratosErrorBody
    } catch {
      // Non-JSON bodies (e.g. a proxy's 502 page) carry nothing we can act on.
    }
    return { kind: "response", status: err.response.status, body }
  }
  return {
    kind: "network",
    message: err instanceof Error ? err.message : String(err),
  }
}

export function navigate(to: string) {
  // replace(): the intermediate URL (a page without ?flow=, an expired flow) is not worth a
  // history entry, and going "back" into it would only redirect forward again.
  window.location.replace(to)
}

/** Where to send someone whose session is missing, so they come back to this page. */
export function loginUrlReturningHere() {
  const here = new URL(window.location.href)
  here.searchParams.delete("flow")
  const url = new URL(uiUrls.login, origin)
  url.searchParams.set("return_to", here.href)
  return url.pathname + url.search
}

export async function logout() {
  forgetSignedIn()
  try {
    const flow = await frontend.createBrowserLogoutFlow()
    navigate(flow.logout_url)
  } catch (err) {
    const failure = await toApiFailure(err)
    // 401: there is no session to end, which is what the user wanted anyway.
    if (failure.kind === "response" && failure.status === 401) {
      navigate(uiUrls.login)
      return
    }
    throw err
  }
}

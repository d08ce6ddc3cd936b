// Client for the service's own JSON API (/api/*), shared by the Security page and the admin
// console. Cookie-authenticated; state-changing calls carry the CSRF header the service asks for.

/** The service's error envelope: `{ error: { code, message, reason?, request_id, ... } }`. */
export type ApiErrorBody = {
  code?: string
  message?: string
  reason?: string
  request_id?: string
  [key: string]: unknown
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message ?? `request failed (${status})`)
    this.name = "ApiError"
  }

  /** Machine-readable reason (e.g. `aal2_required`, `session_required`), if the service sent one. */
  get reason(): string | undefined {
    return typeof this.body.reason === "string" ? this.body.reason : undefined
  }
}

/** Any thrown value as an ApiError (status 0 when the request never got an answer). */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  return new ApiError(0, {
    code: "CLIENT",
    message: err instanceof Error ? err.message : "Something went wrong in this page.",
  })
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export async function apiRequest<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" }
  if (method !== "GET") headers["X-Kratos-Guard-CSRF"] = "1"
  if (body !== undefined) headers["Content-Type"] = "application/json"
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, {
      code: "NETWORK",
      message: "Can't reach the server. Check your connection and try again.",
    })
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = undefined
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    // A proxy's HTML error page: nothing to read.
  }
  if (!response.ok) {
    const envelope = (parsed as { error?: ApiErrorBody } | undefined)?.error
    throw new ApiError(
      response.status,
      envelope ?? { message: `request failed (${response.status})` },
    )
  }
  return parsed as T
}

export const api = {
  get: <T>(path: string) => apiRequest<T>("GET", path),
  post: <T>(path: string, body?: unknown) => apiRequest<T>("POST", path, body ?? {}),
  put: <T>(path: string, body?: unknown) => apiRequest<T>("PUT", path, body ?? {}),
  delete: <T>(path: string) => apiRequest<T>("DELETE", path),
}

/** The step-up (AAL2) login URL that returns to the current page. */
export function stepUpUrl(returnTo = window.location.pathname + window.location.search) {
  const url = new URL("/login", window.location.origin)
  url.searchParams.set("aal", "aal2")
  url.searchParams.set("return_to", new URL(returnTo, window.location.origin).href)
  return url.pathname + url.search
}

/** The re-authentication URL Kratos's privileged-session window asks for. */
export function refreshUrl(returnTo = "/settings?tab=security") {
  const url = new URL("/login", window.location.origin)
  url.searchParams.set("refresh", "true")
  url.searchParams.set("return_to", new URL(returnTo, window.location.origin).href)
  return url.pathname + url.search
}

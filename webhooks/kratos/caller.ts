/**
 * Who a call to Kratos public is made for: one session token, or Kratos's own cookies, or
 * neither (as the proxy settles a request's credentials, proxy/canonical.ts `sessionCredential`).
 */
export interface KratosCaller {
  token: string | null
  cookies: [string, string][]
}

export const cookieHeader = (cookies: [string, string][]): string | undefined =>
  cookies.length ? cookies.map(([n, v]) => `${n}=${v}`).join("; ") : undefined

/**
 * The one rule for sending a caller's credentials to Kratos: a session token alone when there
 * is one (`X-Session-Token`; cookies other than Kratos's CSRF and continuity cookies are never
 * sent), otherwise Kratos's cookies. Never both sessions, so Kratos has one reading.
 */
export function callerHeaders(caller: KratosCaller): Record<string, string> {
  const out: Record<string, string> = {}
  if (caller.token) {
    out["x-session-token"] = caller.token
    const cookie = cookieHeader(caller.cookies.filter(([n]) => n !== "ory_kratos_session"))
    if (cookie) out.cookie = cookie
    return out
  }
  const cookie = cookieHeader(caller.cookies)
  if (cookie) out.cookie = cookie
  return out
}

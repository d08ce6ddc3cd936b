/**
 * What the proxy's refusals say and how a browser redirect names them, shared by the proxy
 * (guards.ts) and the UI, which reads the redirect's query parameter and shows the message.
 *
 * This module must stay importable by the browser bundle: standard JavaScript only.
 */

/** Message ids of refusals by the proxy (our range; Kratos's own ids are 1xxxxxx–5xxxxxx). */
export const SSO_PASSWORD_REFUSED = 4100010
export const PASSWORD_REUSED = 4100011
export const LOGIN_THROTTLED = 4100020

/** Query parameters added to the UI URL when a browser form post is refused. */
export const PASSWORD_POLICY_PARAM = "password_policy"
export const THROTTLED_PARAM = "throttled"

/**
 * Values of `password_policy`: the composition rules failed, the organisation is SSO-only, or
 * the password is the current or a recent one.
 */
export const PASSWORD_POLICY_FAILED = "failed"
export const PASSWORD_POLICY_SSO_REQUIRED = "sso_required"
export const PASSWORD_POLICY_REUSED = "reused"

/** Login methods whose secret can be guessed; the proxy limits failed attempts of these. */
export const THROTTLED_METHODS: readonly string[] = ["password", "totp", "lookup_secret"]

/**
 * The `ssoRequired` policy locks passwords (there is no identity provider behind it): the card
 * is hidden and changes are refused, while sign-in with the existing password goes on.
 */
export const SSO_PASSWORD_TEXT =
  "Your organisation has locked password changes, so yours can't be changed here. Ask an administrator if you need a new one."

export const REUSED_TEXT = "You have used this password recently. Choose a new one."

export function throttledText(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60))
  return `Too many failed attempts. Try again in ${minutes} ${minutes === 1 ? "minute" : "minutes"}.`
}

import {
  PASSWORD_POLICY_FAILED,
  PASSWORD_POLICY_PARAM,
  PASSWORD_POLICY_REUSED,
  PASSWORD_POLICY_SSO_REQUIRED,
  THROTTLED_PARAM,
  throttledText,
} from "../../webhooks/proxy/refusals"

/**
 * A refusal by the service's proxy, as the address of a flow page names it. The proxy can't
 * store messages in Kratos's copy of a flow, so when it refuses a browser form post it sends
 * the browser back to the flow's page with a parameter instead (see webhooks/proxy/guards.ts):
 * `password_policy=failed|reused|sso_required` on /settings (`failed` on /registration too), `throttled=<seconds>`
 * on /login. JSON submissions get the flow with the message in it and need none of this.
 */
export type Refusal =
  | { kind: "password_failed" }
  | { kind: "password_reused" }
  | { kind: "sso_required" }
  /** `until`: when the block ends, in ms since the epoch. */
  | { kind: "throttled"; seconds: number; until: number }

export type RefusalPage = "login" | "registration" | "settings"

type Found = { page: RefusalPage; flowId: string; refusal: Refusal }

/** Longest block shown; a larger value is shown as this (the proxy's own limit is configured). */
export const MAX_THROTTLED_SECONDS = 24 * 3600

const pageParams: Record<RefusalPage, string> = {
  login: THROTTLED_PARAM,
  registration: PASSWORD_POLICY_PARAM,
  settings: PASSWORD_POLICY_PARAM,
}

/**
 * Reads the refusal named by a flow page's address (`href`), at time `now` (ms). `cleaned` is
 * the address without the parameter when it had one, valid or not (null: nothing to remove);
 * every other parameter (flow, tab, reason, return_to…) stays as it was. A refusal counts only
 * with a flow id to bind it to, and with a value this page knows; anything else is ignored.
 */
export function readRefusal(
  href: string,
  now: number,
): { found: Found | null; cleaned: string | null } {
  const url = new URL(href)
  const page = pageOf(url.pathname)
  if (!page) return { found: null, cleaned: null }
  const name = pageParams[page]
  if (!url.searchParams.has(name)) return { found: null, cleaned: null }

  const value = url.searchParams.get(name) ?? ""
  url.searchParams.delete(name)
  const cleaned = url.pathname + url.search + url.hash
  const flowId = url.searchParams.get("flow")
  const refusal = parseValue(page, value, now)
  return { found: flowId && refusal ? { page, flowId, refusal } : null, cleaned }
}

function pageOf(pathname: string): RefusalPage | null {
  const path = pathname.replace(/(.)\/+$/, "$1")
  if (path === "/login") return "login"
  if (path === "/registration") return "registration"
  if (path === "/settings") return "settings"
  return null
}

function parseValue(page: RefusalPage, value: string, now: number): Refusal | null {
  if (page === "login") {
    // Digits only: no signs, exponents, fractions, hex or spaces that Number() would accept.
    if (!/^[0-9]+$/.test(value)) return null
    const seconds = Math.min(Number(value), MAX_THROTTLED_SECONDS)
    if (seconds < 1) return null
    return { kind: "throttled", seconds, until: now + seconds * 1000 }
  }
  if (value === PASSWORD_POLICY_FAILED) return { kind: "password_failed" }
  if (page === "settings" && value === PASSWORD_POLICY_SSO_REQUIRED) return { kind: "sso_required" }
  if (page === "settings" && value === PASSWORD_POLICY_REUSED) return { kind: "password_reused" }
  return null
}

let taken: Found | null = null

/**
 * Called once before the app renders: takes the refusal out of the address (history.replaceState),
 * so that a reload, a bookmark or a restarted flow does not show it again, and the page's saved
 * parameters (keepPageParams) never carry it into another flow. The page asks for it with
 * `refusalFor` once its flow has loaded.
 */
export function takeRefusal(): void {
  const { found, cleaned } = readRefusal(window.location.href, Date.now())
  taken = found
  if (cleaned !== null) window.history.replaceState(window.history.state, "", cleaned)
}

/** The refusal this page was opened with, if it was about this flow. */
export function refusalFor(page: RefusalPage, flowId: string): Refusal | null {
  return taken && taken.page === page && taken.flowId === flowId ? taken.refusal : null
}

/** "Try again in N minutes." while a minute or more is left, then the seconds. */
export function throttledCountdownText(secondsLeft: number): string {
  if (secondsLeft >= 60) return throttledText(secondsLeft)
  const s = Math.max(1, Math.ceil(secondsLeft))
  return `Too many failed attempts. Try again in ${s} ${s === 1 ? "second" : "seconds"}.`
}

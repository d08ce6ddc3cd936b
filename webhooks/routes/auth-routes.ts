import type { Request, Router } from "express"
import type { Deps } from "../app"
import { ackAnswer, gateAnswer } from "./answers"
import { actorOf, reply } from "./edge"
import { acknowledgePasswordChange } from "../domain/force-password-change"
import { withCachedWhoami } from "../domain/gate-cache"
import { evaluateGate, gateRefusal, identityGone } from "../domain/session-gate"
import { requireCsrfProtection, requireSession, sessionOf } from "../middleware/session"

/**
 * `GET /api/auth/gate` answers whether the caller may use the apps behind kratos-guard: 200,
 * 401 (no session) or 403 with a machine-readable reason and where to go. Usable from an app
 * and from a reverse proxy's auth sub-request (the identity is also in response headers).
 * `POST /api/auth/ack-password-change` clears a forced password change after a real change.
 */
export function registerAuthRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, kratosPublic } = deps
  const withSession = requireSession(kratosPublic)
  // The gate is every gated request's sub-request: Kratos's answers may be GATE_CACHE_MS old.
  const withCachedSession = requireSession(withCachedWhoami(kratosPublic))
  const csrf = requireCsrfProtection(config.PUBLIC_URL)
  const gateDeps = { database, kratos, publicUrl: config.PUBLIC_URL }

  router.get("/api/auth/gate", withCachedSession, async (req, res) => {
    const decision = await evaluateGate(gateDeps, sessionOf(req), {
      returnTo: sameOriginReturnTo(req, config.PUBLIC_URL),
      // One extra query, only when the organisation has a rotation interval.
      rotation: true,
      cachedKratos: true,
    })
    if (!decision) throw identityGone()
    res.set({
      "cache-control": "no-store",
      "x-identity-id": decision.identityId,
      "x-identity-role": decision.role,
      "x-authenticator-assurance-level": decision.aal,
    })
    if (!decision.allow) throw gateRefusal(decision)
    reply(res, gateAnswer, {
      identity_id: decision.identityId,
      role: decision.role,
      aal: decision.aal,
      mfa: {
        required: decision.mfa.required,
        required_by: decision.mfa.requiredBy,
        enrolled: decision.mfa.enrolled,
        deadline: decision.mfa.deadline,
      },
      password_rotation_due: decision.passwordRotationDue,
      warnings: decision.warnings,
    })
  })

  router.post("/api/auth/ack-password-change", csrf, withSession, async (req, res) => {
    const session = sessionOf(req)
    const result = await acknowledgePasswordChange(
      { database, kratos, securityTeam: config.SECURITY_TEAM_EMAILS, publicUrl: config.PUBLIC_URL },
      actorOf(req, session.identity!.id),
    )
    reply(
      res,
      ackAnswer,
      result.status === "cleared"
        ? { status: "cleared", set_at: result.setAt, changed_at: result.changedAt || null }
        : result,
    )
  })
}

/** `return_to` (query) or the proxied URL (auth sub-request), only if it is on our origin. */
function sameOriginReturnTo(req: Request, publicUrl: string): string | null {
  const candidate =
    (typeof req.query.return_to === "string" ? req.query.return_to : undefined) ??
    req.get("x-forwarded-uri") ??
    req.get("x-original-url")
  if (!candidate) return null
  try {
    const url = new URL(candidate, publicUrl)
    return url.origin === new URL(publicUrl).origin ? url.toString() : null
  } catch {
    return null
  }
}

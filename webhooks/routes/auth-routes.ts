import type { Router } from "express"
import type { Deps } from "../app"
import { ackAnswer } from "./answers"
import { apiKeyGate } from "./api-key-routes"
import { requiredAalOf, sameOriginReturnTo, sendGateDecision } from "./gate-answer"
import { actorOf, reply } from "./edge"
import { acknowledgePasswordChange } from "../domain/force-password-change"
import { withCachedWhoami } from "../domain/gate-cache"
import { evaluateGate, identityGone } from "../domain/session-gate"
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

  // A call with an API key (`Authorization: Bearer kg_…`) is decided on the key; any other on
  // the session.
  router.get("/api/auth/gate", apiKeyGate(deps), withCachedSession, async (req, res) => {
    const decision = await evaluateGate(gateDeps, sessionOf(req), {
      returnTo: sameOriginReturnTo(req, config.PUBLIC_URL),
      // One extra query, only when the organisation has a rotation interval.
      rotation: true,
      cachedKratos: true,
      requiredAal: requiredAalOf(req),
    })
    if (!decision) throw identityGone()
    sendGateDecision(res, decision)
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

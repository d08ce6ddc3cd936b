import type { Request, Router } from "express"
import type { Deps } from "../app"
import { acknowledgePasswordChange, type Actor } from "../domain/force-password-change"
import { credentialKey, gateCache } from "../domain/gate-cache"
import { evaluateGate, gateRefusal, identityGone } from "../domain/session-gate"
import { requireCsrfProtection, requireSession, sessionOf } from "../middleware/session"

export function actorOf(req: Request, id: string, email: string | null = null): Actor {
  return {
    id,
    email,
    ip: req.ip ?? null,
    userAgent: req.get("user-agent") ?? null,
    requestId: String(req.id),
  }
}

/**
 * `GET /api/auth/gate` answers whether the caller may use the apps behind kratos-guard: 200,
 * 401 (no session) or 403 with a machine-readable reason and where to go. Usable from an app
 * and from a reverse proxy's auth sub-request (the identity is also in response headers).
 * `POST /api/auth/ack-password-change` clears a forced password change after a real change.
 */
export function registerAuthRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, sessions } = deps
  const withSession = requireSession(sessions)
  // The gate is every gated request's sub-request: Kratos's answers may be GATE_CACHE_MS old.
  const withCachedSession = requireSession({
    ...sessions,
    fromRequest: (req) =>
      gateCache.session(credentialKey(req.get("cookie"), req.get("x-session-token")), () =>
        sessions.fromRequest(req),
      ),
  })
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
    res.json({
      identity_id: decision.identityId,
      role: decision.role,
      aal: decision.aal,
      mfa: decision.mfa,
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
    res.json(result)
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

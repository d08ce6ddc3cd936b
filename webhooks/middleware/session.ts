import type { Session } from "../kratos/types"
import type { NextFunction, Request, RequestHandler, Response } from "express"
import {
  evaluateGate,
  gateRefusal,
  identityGone,
  type SessionGateDeps,
} from "../domain/session-gate"
import { activeRoleOf } from "../domain/authorization"
import type { Role } from "../policy/roles"
import { AppError } from "../errors"
import type { KratosCaller } from "../kratos/caller"
import type { KratosPublic } from "../kratos/public"
import { sessionCredential } from "../proxy/canonical"

const sessions = new WeakMap<Request, { session: Session; caller: KratosCaller }>()

/** The session resolved by `requireSession` for this request. */
export function sessionOf(req: Request): Session {
  const s = sessions.get(req)
  if (!s) throw new Error("sessionOf() called on a route without requireSession")
  return s.session
}

/** The credentials `requireSession` found the session with, to call Kratos as the caller. */
export function callerOf(req: Request): KratosCaller {
  const s = sessions.get(req)
  if (!s) throw new Error("callerOf() called on a route without requireSession")
  return s.caller
}

/**
 * The caller's Kratos session, from `X-Session-Token` or Kratos's cookies read as the proxy
 * reads them (an ambiguous pair is no session; `Authorization` is the app's, not read) and sent
 * to Kratos the one way.
 */
export function requireSession(kratos: KratosPublic): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const credential = sessionCredential(req, { bearer: false })
    const caller = credential.ok ? { token: credential.token, cookies: credential.cookies } : null
    const session = caller ? await kratos.whoami(caller) : null
    if (!caller || !session)
      return next(new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" }))
    sessions.set(req, { session, caller })
    next()
  }
}

/**
 * Every `/api/*` route but the few a gated person needs to put things right (their security
 * overview and sessions, the ack of a forced change, the gate itself) refuses a session the
 * gate refuses, with the gate's status and reason: a forced password change or an overdue 2FA
 * enrolment stops the API, not only the UI. The decision is the gate's own (evaluateGate); it
 * costs one Kratos admin read, and no password-age query (that only ever warns).
 */
export function requireGate(d: SessionGateDeps): RequestHandler {
  return async (req, _res, next) => next((await gateRefusalFor(d, req)) ?? undefined)
}

async function gateRefusalFor(d: SessionGateDeps, req: Request): Promise<AppError | null> {
  const decision = await evaluateGate(d, sessionOf(req), { returnTo: null, rotation: false })
  if (!decision) return identityGone()
  return decision.allow ? null : gateRefusal(decision)
}

const adminRoles = new WeakMap<Request, Role>()

/** The role `requireAdmin` found for this request's admin in the service's record. */
export function adminRoleOf(req: Request): Role {
  const role = adminRoles.get(req)
  if (!role) throw new Error("adminRoleOf() called on a route without requireAdmin")
  return role
}

/**
 * Admin routes: the gate first (an admin under a forced change or past their enrolment
 * deadline gets the gate's reason), then role admin or super_admin — from the service's
 * record, not the session's copy of Kratos's metadata — and a session at AAL2.
 */
export function requireAdmin(d: SessionGateDeps): RequestHandler {
  return async (req, _res, next) => {
    const refused = await gateRefusalFor(d, req)
    if (refused) return next(refused)
    const session = sessionOf(req)
    const role = session.identity ? await activeRoleOf(d, session.identity.id) : null
    const err = adminRefusal(session, role)
    if (err || !role) return next(err ?? undefined)
    adminRoles.set(req, role)
    next()
  }
}

function adminRefusal(session: Session, role: Role | null): AppError | null {
  if (role !== "admin" && role !== "super_admin") {
    return new AppError("FORBIDDEN", "administrators only", { reason: "admin_required" })
  }
  if (
    session.authenticator_assurance_level !== "aal2" &&
    session.authenticator_assurance_level !== "aal3"
  ) {
    return new AppError("FORBIDDEN", "confirm it's you with your second factor first", {
      reason: "aal2_required",
      redirect_to: "/self-service/login/browser?aal=aal2",
    })
  }
  return null
}

export const CSRF_HEADER = "x-kratos-guard-csrf"

/**
 * State-changing calls made with the session cookie must come from our own pages: the Origin
 * (when the browser sends one) must be ours, and a custom header must be present, which a
 * cross-site form or a simple cross-origin fetch cannot add. Calls authenticated by
 * `X-Session-Token` carry no ambient credentials and are exempt.
 */
export function requireCsrfProtection(publicUrl: string): RequestHandler {
  const ours = new URL(publicUrl).origin
  return (req, _res, next) => {
    if (["GET", "HEAD", "OPTIONS"].includes(req.method)) return next()
    if (!req.get("cookie") && req.get("x-session-token")) return next()
    const origin = req.get("origin")
    if (origin && origin !== ours) {
      return next(new AppError("FORBIDDEN", "cross-origin request refused", { reason: "csrf" }))
    }
    if (req.get(CSRF_HEADER) !== "1") {
      return next(new AppError("FORBIDDEN", `missing ${CSRF_HEADER} header`, { reason: "csrf" }))
    }
    next()
  }
}

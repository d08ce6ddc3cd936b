import type { Session } from "@ory/client"
import type { NextFunction, Request, RequestHandler, Response } from "express"
import { activeRoleOf, type AuthzDeps } from "../domain/authorization"
import type { Role } from "../domain/org-policy"
import { AppError } from "../errors"
import type { SessionResolver } from "../kratos/sessions"

const sessions = new WeakMap<Request, Session>()

/** The session resolved by `requireSession` for this request. */
export function sessionOf(req: Request): Session {
  const s = sessions.get(req)
  if (!s) throw new Error("sessionOf() called on a route without requireSession")
  return s
}

export function requireSession(resolver: SessionResolver): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const session = await resolver.fromRequest(req)
    if (!session)
      return next(new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" }))
    sessions.set(req, session)
    next()
  }
}

const adminRoles = new WeakMap<Request, Role>()

/** The role `requireAdmin` found for this request's admin in the service's record. */
export function adminRoleOf(req: Request): Role {
  const role = adminRoles.get(req)
  if (!role) throw new Error("adminRoleOf() called on a route without requireAdmin")
  return role
}

export function requireAdmin(deps: AuthzDeps): RequestHandler {
  return (req, res, next) => adminCheck(deps, req, res, next)
}

/**
 * Admin routes: role admin or super_admin, and a session at AAL2. The role (and deactivation)
 * comes from the service's record, not from the session's copy of Kratos's metadata.
 */
const adminCheck = async (deps: AuthzDeps, req: Request, _res: Response, next: NextFunction) => {
  const session = sessionOf(req)
  const role = session.identity ? await activeRoleOf(deps, session.identity.id) : null
  if (role !== "admin" && role !== "super_admin") {
    return next(new AppError("FORBIDDEN", "administrators only", { reason: "admin_required" }))
  }
  if (
    session.authenticator_assurance_level !== "aal2" &&
    session.authenticator_assurance_level !== "aal3"
  ) {
    return next(
      new AppError("FORBIDDEN", "confirm it's you with your second factor first", {
        reason: "aal2_required",
        redirect_to: "/self-service/login/browser?aal=aal2",
      }),
    )
  }
  adminRoles.set(req, role)
  next()
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

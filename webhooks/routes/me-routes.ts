import type { RequestHandler, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import {
  activityPageAnswer,
  notificationSettingsAnswer,
  notificationSettingsChange,
  mySessionsAnswer,
  revokedSessionAnswer,
  revokedSessionsAnswer,
  securityOverviewAnswer,
} from "./answers"
import { actorOf, parseOr400, reply } from "./edge"
import { MAX_PAGE_SIZE, decodeCursor } from "../domain/audit-queries"
import { AppError } from "../errors"
import { myActivity, securityOverview } from "../domain/security-overview"
import {
  changeMyNotificationSettings,
  myNotificationSettings,
} from "../domain/notification-preferences"
import { listMySessions, revokeMyOtherSessions, revokeMySession } from "../domain/sessions"
import {
  callerOf,
  requireCsrfProtection,
  requireGate,
  requireSession,
  sessionOf,
} from "../middleware/session"
import { sessionId } from "./ids"

const activityQuery = z
  .object({
    cursor: z
      .string("cursor must be a single value")
      .refine((c) => decodeCursor(c) !== null, "is not a valid cursor")
      .optional(),
    limit: z
      .string("limit must be a single value")
      .regex(/^\d{1,3}$/, `must be an integer from 1 to ${MAX_PAGE_SIZE}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
      .optional(),
  })
  .strict()

const noQuery = z.object({}).strict()
const sessionParams = z.object({ id: sessionId })

const anonymous401: RequestHandler = (req, _res, next) =>
  req.get("cookie") || req.get("x-session-token")
    ? next()
    : next(new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" }))

/**
 * The signed-in user's own security page: overview, activity feed and sessions. The overview
 * and the sessions stay open to a session the gate refuses: the Security page needs them to let
 * the person change their password or enrol 2FA.
 */
export function registerMeRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, kratosPublic } = deps
  const withSession = requireSession(kratosPublic)
  const gated = requireGate({ database, kratos, publicUrl: config.PUBLIC_URL })
  // State-changing calls: no credentials at all → 401; then the CSRF check, before any call to
  // Kratos; then the session.
  const changing = [anonymous401, requireCsrfProtection(config.PUBLIC_URL), withSession]
  const sessionDeps = { database, kratos, kratosPublic, publicUrl: config.PUBLIC_URL }

  router.use("/api/me", (_req, res, next) => {
    res.set("cache-control", "no-store")
    next()
  })

  router.get("/api/me/security", withSession, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    const overview = await securityOverview({ database, kratos }, sessionOf(req).identity!.id)
    reply(res, securityOverviewAnswer, overview)
  })

  // Not needed to put a gated account right, so the gate applies (the UI keeps them off it too).
  router.get("/api/me/activity", withSession, gated, async (req, res) => {
    const q = parseOr400(activityQuery, req.query, "query")
    const page = { cursor: q.cursor, limit: q.limit ?? 20 }
    reply(res, activityPageAnswer, await myActivity(database, sessionOf(req).identity!.id, page))
  })

  router.get("/api/me/sessions", withSession, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    const request = { ip: req.ip ?? null, userAgent: req.get("user-agent") ?? null }
    const list = await listMySessions(sessionDeps, callerOf(req), sessionOf(req), request)
    reply(res, mySessionsAnswer, { sessions: list })
  })

  router.delete("/api/me/sessions/:id", ...changing, async (req, res) => {
    const { id } = parseOr400(sessionParams, req.params, "path")
    const session = sessionOf(req)
    const actor = actorOf(req, session.identity!.id)
    const revoked = await revokeMySession(sessionDeps, callerOf(req), actor, session, id)
    reply(res, revokedSessionAnswer, revoked)
  })

  // Choosing mails is not needed to put a gated account right either.
  router.get("/api/me/notifications", withSession, gated, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    const items = await myNotificationSettings(database, sessionOf(req).identity!.id)
    reply(res, notificationSettingsAnswer, { items })
  })

  router.put("/api/me/notifications", ...changing, gated, async (req, res) => {
    const body = parseOr400(notificationSettingsChange, req.body, "body")
    const session = sessionOf(req)
    const items = await changeMyNotificationSettings(
      database,
      actorOf(req, session.identity!.id),
      body,
    )
    reply(res, notificationSettingsAnswer, { items })
  })

  router.delete("/api/me/sessions", ...changing, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    const session = sessionOf(req)
    const actor = actorOf(req, session.identity!.id)
    const revoked = await revokeMyOtherSessions(sessionDeps, callerOf(req), actor, session)
    reply(res, revokedSessionsAnswer, revoked)
  })
}

import type { Request, RequestHandler, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import {
  ownRecoveryAnswer,
  recoveryApprovedAnswer,
  recoveryCodeSentAnswer,
  recoveryDeniedAnswer,
  recoveryQueueAnswer,
} from "./answers"
import { actorOf, adminGuard, adminOf, parseOr400, reply } from "./edge"
import {
  approveRecoveryRequest,
  denyRecoveryRequest,
  ownRecoveryRequest,
  REASON_MAX,
  recoveryQueue,
  sendRecoveryCode,
  submitRecoveryRequest,
  type Asker,
  type RecoveryDeps,
} from "../domain/recovery-requests"
import { AppError } from "../errors"
import { requireCsrfProtection, requireSession, sessionOf } from "../middleware/session"
import { canonicalId } from "./ids"

/** Free text shown to admins and written to the audit trail: no control characters but line breaks. */
const text = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min, min > 1 ? `is at least ${min} characters` : "can't be empty")
    .max(max, `is at most ${max} characters`)
    .refine((v) => !/\p{Cc}/u.test(v.replace(/\n/g, "")), "can't hold control characters")

const submitBody = z
  .object({
    code: z.string().regex(/^\d{6}$/, "is the 6-digit code from the mail"),
    reason: text(10, REASON_MAX),
  })
  .strict()
const emptyBody = z.object({}).strict()
const denyBody = z.object({ note: text(1, 500).nullable().optional() }).strict()
const noQuery = z.object({}).strict()
const queueQuery = z
  .object({
    status: z.enum(["open", "approved", "denied", "expired", "all"]).default("open"),
  })
  .strict()
const requestParams = z.object({ id: canonicalId("recovery request id") })

/** The deps of the recovery-request use cases, from the app's. */
export function recoveryDeps(deps: Deps): RecoveryDeps {
  return {
    database: deps.database,
    kratos: deps.kratos,
    config: deps.config,
    settings: {
      ttlHours: deps.config.RECOVERY_REQUEST_TTL_HOURS,
      fourEyes: deps.config.RECOVERY_FOUR_EYES,
    },
    now: deps.clock ?? (() => new Date()),
  }
}

function askerOf(req: Request): Asker {
  const a = actorOf(req, sessionOf(req).identity!.id)
  return { session: sessionOf(req), ip: a.ip, userAgent: a.userAgent, requestId: a.requestId }
}

/**
 * Lost-device recovery requests: the person's side (`/api/me/recovery-request`, a session at
 * AAL1 is enough and the gate is not asked: it sends a person with a second factor to step up,
 * which is what they can't do) and the admins' queue (`/api/admin/recovery-requests`, AAL2).
 */
export function registerRecoveryRoutes(router: Router, deps: Deps): void {
  const { config, kratosPublic } = deps
  const d = recoveryDeps(deps)
  const session = requireSession(kratosPublic)
  const csrf = requireCsrfProtection(config.PUBLIC_URL)
  const anonymous401: RequestHandler = (req, _res, next) =>
    req.get("cookie") || req.get("x-session-token")
      ? next()
      : next(new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" }))
  const mine = [anonymous401, csrf, session]
  const admin = adminGuard(deps)

  router.use(["/api/me/recovery-request", "/api/admin/recovery-requests"], (_req, res, next) => {
    res.set("cache-control", "no-store")
    next()
  })

  router.get("/api/me/recovery-request", ...mine, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    reply(res, ownRecoveryAnswer, {
      request: await ownRecoveryRequest(d, sessionOf(req).identity!.id),
    })
  })

  router.post("/api/me/recovery-request/code", ...mine, async (req, res) => {
    if (req.body !== undefined) parseOr400(emptyBody, req.body, "body")
    reply(res, recoveryCodeSentAnswer, await sendRecoveryCode(d, askerOf(req)), 202)
  })

  router.post("/api/me/recovery-request", ...mine, async (req, res) => {
    const body = parseOr400(submitBody, req.body, "body")
    reply(
      res,
      ownRecoveryAnswer,
      { request: await submitRecoveryRequest(d, askerOf(req), body) },
      201,
    )
  })

  router.get("/api/admin/recovery-requests", ...admin, async (req, res) => {
    const q = parseOr400(queueQuery, req.query, "query")
    reply(res, recoveryQueueAnswer, await recoveryQueue(d, adminOf(req), q))
  })

  router.post("/api/admin/recovery-requests/:id/approve", ...admin, async (req, res) => {
    const { id } = parseOr400(requestParams, req.params, "path")
    if (req.body !== undefined) parseOr400(emptyBody, req.body, "body")
    reply(res, recoveryApprovedAnswer, await approveRecoveryRequest(d, adminOf(req), id))
  })

  router.post("/api/admin/recovery-requests/:id/deny", ...admin, async (req, res) => {
    const { id } = parseOr400(requestParams, req.params, "path")
    const body = parseOr400(denyBody, req.body ?? {}, "body")
    reply(
      res,
      recoveryDeniedAnswer,
      await denyRecoveryRequest(d, adminOf(req), id, body.note ?? null),
    )
  })
}

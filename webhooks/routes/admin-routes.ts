import type { Request, Response, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import {
  auditEntryOf,
  auditPageAnswer,
  failedNotificationOf,
  forcedChangeAnswer,
  managerChangeAnswer,
  notificationPageAnswer,
  notificationRetryAnswer,
  policyAnswer,
  policyAnswerOf,
  policyChange,
  policyUpdateOf,
  provisionedAnswer,
  roleChangeAnswer,
  sessionsRevokedAnswer,
  stateAnswer,
  twoFactorResetAnswer,
  userDetailAnswer,
  userListAnswer,
} from "./answers"
import { adminGuard, adminOf, parseOr400, reply } from "./edge"
import {
  auditLog,
  listUsers,
  provisionUser,
  resetTwoFactor,
  revokeSessions,
  setActive,
  setManager,
  userDetail,
} from "../domain/admin-users"
import {
  decodeCursor,
  MAX_PAGE_SIZE,
  streamAuditCsv,
  type AuditFilters,
} from "../domain/audit-queries"
import {
  InvalidCursorError,
  isNotificationCursor,
  listFailedNotifications,
  retryNotification,
} from "../domain/notifications/admin"
import { requirePasswordChange } from "../domain/force-password-change"
import { changeOrgPolicy, recordAdminLook } from "../domain/admin-actions"
import { ID_PREFIX_MIN, idPrefix } from "../policy/id-prefix"
import { getOrgPolicy } from "../domain/org-policy"
import { roles } from "../policy/roles"
import { setRole } from "../domain/roles"
import { AppError } from "../errors"
import { canonicalId, identityId, notificationId } from "./ids"

const userParams = z.object({ id: identityId })
const listQuery = z.object({
  search: z.string().max(200).optional(),
  role: z.enum(roles).optional(),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})
const roleBody = z.object({ role: z.enum(roles) }).strict()
/** A whole user id or its start (the console shows 8 characters), in lower case. */
function idOrPrefix(what: string) {
  return z
    .string()
    .max(36)
    .transform((text, ctx) => {
      const prefix = idPrefix(text)
      if (prefix === null) {
        ctx.addIssue({
          code: "custom",
          message: `${what} must be a user id or its first ${ID_PREFIX_MIN} or more characters`,
        })
        return z.NEVER
      }
      return prefix
    })
}
const auditQuery = z
  .object({
    actor: idOrPrefix("actor").optional(),
    subject: idOrPrefix("subject").optional(),
    event: z
      .union([z.string().max(100), z.array(z.string().max(100)).max(30)])
      .optional()
      .transform((e) => (typeof e === "string" ? e.split(",").filter(Boolean) : e)),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    cursor: z
      .string()
      .max(200)
      .refine((c) => decodeCursor(c) !== null, "is not a valid cursor")
      .optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  })
  .strict()
const outboxQuery = z
  .object({
    status: z.enum(["dead", "retrying"]).optional(),
    cursor: z.string().max(200).refine(isNotificationCursor, "is not a valid cursor").optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict()
const notificationParams = z.object({ id: notificationId })
const managerBody = z.object({ manager_id: canonicalId("manager id").nullable() }).strict()
const provisionBody = z
  .object({
    email: z.email().max(320),
    first_name: z.string().max(100).optional(),
    last_name: z.string().max(100).optional(),
    role: z.enum(roles).default("member"),
  })
  .strict()

function auditFilters(q: {
  actor?: string
  subject?: string
  event?: string[]
  from?: string
  to?: string
}): AuditFilters {
  const whole = (id?: string) => (id?.length === 36 ? id : undefined)
  const start = (id?: string) => (id !== undefined && id.length < 36 ? id : undefined)
  return {
    actorId: whole(q.actor),
    subjectId: whole(q.subject),
    actorPrefix: start(q.actor),
    subjectPrefix: start(q.subject),
    event: q.event && q.event.length > 0 ? q.event : undefined,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
  }
}

/**
 * Admin API: role admin or super_admin with an AAL2 session; every change (and every look at
 * a person's record) is audited with the admin as actor.
 */
export function registerAdminRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos } = deps
  const guard = adminGuard(deps)
  const id = (req: Request) => parseOr400(userParams, req.params, "path").id
  /**
   * A read of org-wide data (the people list, the policy, the logs), recorded as the admin's
   * look. The query is checked first: a request answered 400 leaves no audit entry, and the
   * entry holds the query as parsed (ids in their canonical spelling), not as sent.
   */
  const view = <Q>(
    path: string,
    what: string,
    query: z.ZodType<Q> | null,
    /** Reads what the answer holds; the answer is sent only once the look is on record. */
    read: (q: Q) => Promise<(res: Response) => void>,
  ) =>
    router.get(path, ...guard, async (req, res) => {
      const q = query ? parseOr400(query, req.query, "query") : (req.query as Q)
      // The look's audit entry and the read side by side: one waits for its commit while the
      // other runs its query. A failed entry fails the request before anything is sent.
      const [, send] = await Promise.all([
        recordAdminLook(database.db, adminOf(req), "admin.viewed", { what, query: q }),
        read(q),
      ])
      send(res)
    })

  view("/api/admin/users", "users", listQuery, async (q) => {
    const { users, total, nextOffset } = await listUsers(deps, q)
    return (res) => reply(res, userListAnswer, { users, total, next_offset: nextOffset })
  })

  router.post("/api/admin/users", ...guard, async (req, res) => {
    const body = parseOr400(provisionBody, req.body, "body")
    res.set("cache-control", "no-store")
    reply(res, provisionedAnswer, await provisionUser(deps, adminOf(req), body), 201)
  })

  router.get("/api/admin/users/:id", ...guard, async (req, res) => {
    reply(res, userDetailAnswer, await userDetail(deps, adminOf(req), id(req)))
  })

  router.put("/api/admin/users/:id/role", ...guard, async (req, res) => {
    const { role } = parseOr400(roleBody, req.body, "body")
    reply(res, roleChangeAnswer, await setRole(deps, adminOf(req), id(req), role))
  })

  router.put("/api/admin/users/:id/manager", ...guard, async (req, res) => {
    const body = parseOr400(managerBody, req.body, "body")
    reply(res, managerChangeAnswer, await setManager(deps, adminOf(req), id(req), body.manager_id))
  })

  router.post("/api/admin/users/:id/force-password-change", ...guard, async (req, res) => {
    const result = await requirePasswordChange(
      { database, kratos, securityTeam: config.SECURITY_TEAM_EMAILS, publicUrl: config.PUBLIC_URL },
      adminOf(req),
      id(req),
    )
    reply(res, forcedChangeAnswer, {
      required: true,
      set_at: result.setAt,
      already_required: result.alreadyRequired,
    })
  })

  router.post("/api/admin/users/:id/reset-2fa", ...guard, async (req, res) => {
    const { removed } = await resetTwoFactor(deps, adminOf(req), id(req))
    reply(res, twoFactorResetAnswer, { removed, sessions_revoked: true })
  })

  router.post("/api/admin/users/:id/revoke-sessions", ...guard, async (req, res) => {
    reply(res, sessionsRevokedAnswer, await revokeSessions(deps, adminOf(req), id(req)))
  })

  router.post("/api/admin/users/:id/deactivate", ...guard, async (req, res) => {
    const { state } = await setActive(deps, adminOf(req), id(req), false)
    reply(res, stateAnswer, { state })
  })

  router.post("/api/admin/users/:id/reactivate", ...guard, async (req, res) => {
    const { state } = await setActive(deps, adminOf(req), id(req), true)
    reply(res, stateAnswer, { state })
  })

  // The cursors are checked by the query schemas: a bad one is a 400 before any entry.
  view("/api/admin/audit", "audit_log", auditQuery, async (q) => {
    const page = await auditLog(deps, auditFilters(q), { cursor: q.cursor, limit: q.limit })
    return (res) =>
      reply(res, auditPageAnswer, {
        items: page.items.map(auditEntryOf),
        next_cursor: page.nextCursor,
        people: page.people,
      })
  })

  // Streams, in id order, however many rows match: never loads them all in memory.
  router.get("/api/admin/audit.csv", ...guard, async (req, res) => {
    const q = parseOr400(auditQuery.omit({ cursor: true, limit: true }), req.query, "query")
    const admin = adminOf(req)
    // One person's trail when the filter names one whole id; a prefix may match several.
    const subject = q.subject?.length === 36 ? q.subject : null
    await recordAdminLook(database.db, admin, "admin.audit_exported", { filters: q }, subject)
    res.set({
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`,
      "cache-control": "no-store",
    })
    await streamAuditCsv(database, auditFilters(q), res)
    res.end()
  })

  view("/api/admin/notifications", "notifications", outboxQuery, async (q) => {
    try {
      const page = await listFailedNotifications(database.db, q)
      return (res) =>
        reply(res, notificationPageAnswer, {
          items: page.items.map(failedNotificationOf),
          next_cursor: page.nextCursor,
        })
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new AppError("BAD_REQUEST", "invalid cursor")
      throw err
    }
  })

  router.post("/api/admin/notifications/:id/retry", ...guard, async (req, res) => {
    const { id: notificationId } = parseOr400(notificationParams, req.params, "path")
    const result = await retryNotification(database.db, notificationId)
    if (result.status === "not_found") throw new AppError("NOT_FOUND", "no such notification")
    if (result.status === "not_retryable") {
      throw new AppError("CONFLICT", `this notification is ${result.current}, not failed`)
    }
    reply(res, notificationRetryAnswer, result)
  })

  view("/api/admin/policy", "policy", null, async () => {
    const policy = policyAnswerOf(await getOrgPolicy(database.db))
    return (res) => reply(res, policyAnswer, policy)
  })

  router.put("/api/admin/policy", ...guard, async (req, res) => {
    const admin = adminOf(req)
    if (admin.role !== "super_admin")
      throw new AppError("FORBIDDEN", "only a super admin changes the policy")
    const change = policyUpdateOf(parseOr400(policyChange, req.body, "body"))
    reply(res, policyAnswer, policyAnswerOf(await changeOrgPolicy(database, admin, change)))
  })
}

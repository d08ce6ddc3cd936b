import type { Request, RequestHandler, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import {
  listUsers,
  peopleByIds,
  provisionUser,
  resetTwoFactor,
  revokeSessions,
  setActive,
  setManager,
  userDetail,
  type AdminActor,
} from "../domain/admin-users"
import { appendAudit, type AuditEventName } from "../domain/audit"
import {
  decodeCursor,
  listAudit,
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
import { ID_PREFIX_MIN, idPrefix } from "../domain/id-prefix"
import { getOrgPolicy, orgPolicyUpdate, roles, updateOrgPolicy } from "../domain/org-policy"
import { setRole } from "../domain/roles"
import { AppError } from "../errors"
import {
  adminRoleOf,
  requireAdmin,
  requireCsrfProtection,
  requireSession,
  sessionOf,
} from "../middleware/session"
import { actorOf } from "./auth-routes"
import { parseOr400 } from "./hook-routes"
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

/** An audit entry for an admin's action that concerns no one person's credentials. */
function recordAdminAction(
  database: Deps["database"],
  admin: AdminActor,
  event: AuditEventName,
  details: Record<string, unknown>,
  subjectId: string | null = null,
) {
  return appendAudit(database.db, {
    event,
    actorType: "admin",
    actorId: admin.id,
    subjectId,
    ip: admin.ip,
    userAgent: admin.userAgent,
    requestId: admin.requestId,
    posture: {},
    details,
    dedupKey: `${event}:${admin.requestId}`,
  })
}

/**
 * Records an admin's read of org-wide data (the people list, the policy, the logs). The query
 * is checked first: a request answered 400 leaves no audit entry, and the entry holds the query
 * as parsed (ids in their canonical spelling), not as sent.
 */
function auditView(database: Deps["database"], what: string, query?: z.ZodType): RequestHandler {
  return async (req, _res, next) => {
    const parsed = query ? parseOr400(query, req.query, "query") : req.query
    const admin = adminOf(req)
    await recordAdminAction(database, admin, "admin.viewed", { what, query: parsed })
    next()
  }
}

function adminOf(req: Request): AdminActor {
  const identity = sessionOf(req).identity!
  return {
    ...actorOf(req, identity.id),
    type: "admin",
    role: adminRoleOf(req),
  }
}

/**
 * Admin API: role admin or super_admin with an AAL2 session; every change (and every look at
 * a person's record) is audited with the admin as actor.
 */
export function registerAdminRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, sessions } = deps
  const guard = [
    requireCsrfProtection(config.PUBLIC_URL),
    requireSession(sessions),
    requireAdmin({ ...deps, publicUrl: config.PUBLIC_URL }),
  ]
  const id = (req: Request) => parseOr400(userParams, req.params, "path").id

  router.get(
    "/api/admin/users",
    ...guard,
    auditView(database, "users", listQuery),
    async (req, res) => {
      const q = parseOr400(listQuery, req.query, "query")
      res.json(await listUsers(deps, q))
    },
  )

  router.post("/api/admin/users", ...guard, async (req, res) => {
    const body = parseOr400(provisionBody, req.body, "body")
    res
      .status(201)
      .set("cache-control", "no-store")
      .json(await provisionUser(deps, adminOf(req), body))
  })

  router.get("/api/admin/users/:id", ...guard, async (req, res) => {
    res.json(await userDetail(deps, adminOf(req), id(req)))
  })

  router.put("/api/admin/users/:id/role", ...guard, async (req, res) => {
    const { role } = parseOr400(roleBody, req.body, "body")
    res.json(await setRole(deps, adminOf(req), id(req), role))
  })

  router.put("/api/admin/users/:id/manager", ...guard, async (req, res) => {
    const body = parseOr400(managerBody, req.body, "body")
    res.json(await setManager(deps, adminOf(req), id(req), body.manager_id))
  })

  router.post("/api/admin/users/:id/force-password-change", ...guard, async (req, res) => {
    const result = await requirePasswordChange(
      { database, kratos, securityTeam: config.SECURITY_TEAM_EMAILS, publicUrl: config.PUBLIC_URL },
      adminOf(req),
      id(req),
    )
    res.json({ required: true, set_at: result.setAt, already_required: result.alreadyRequired })
  })

  router.post("/api/admin/users/:id/reset-2fa", ...guard, async (req, res) => {
    const { removed } = await resetTwoFactor(deps, adminOf(req), id(req))
    res.json({ removed, sessions_revoked: true })
  })

  router.post("/api/admin/users/:id/revoke-sessions", ...guard, async (req, res) => {
    res.json(await revokeSessions(deps, adminOf(req), id(req)))
  })

  router.post("/api/admin/users/:id/deactivate", ...guard, async (req, res) => {
    const { state } = await setActive(deps, adminOf(req), id(req), false)
    res.json({ state })
  })

  router.post("/api/admin/users/:id/reactivate", ...guard, async (req, res) => {
    const { state } = await setActive(deps, adminOf(req), id(req), true)
    res.json({ state })
  })

  router.get(
    "/api/admin/audit",
    ...guard,
    auditView(database, "audit_log", auditQuery),
    async (req, res) => {
      const q = parseOr400(auditQuery, req.query, "query")
      if (q.cursor && decodeCursor(q.cursor) === null)
        throw new AppError("BAD_REQUEST", "invalid cursor")
      const page = await listAudit(database.db, auditFilters(q), {
        cursor: q.cursor,
        limit: q.limit,
      })
      const people = await peopleByIds(
        deps,
        page.items.flatMap((e) => [e.actorId, e.subjectId]),
      )
      res.json({ items: page.items, next_cursor: page.nextCursor, people })
    },
  )

  // Streams, in id order, however many rows match: never loads them all in memory.
  router.get("/api/admin/audit.csv", ...guard, async (req, res) => {
    const q = parseOr400(auditQuery.omit({ cursor: true, limit: true }), req.query, "query")
    const admin = adminOf(req)
    // One person's trail when the filter names one whole id; a prefix may match several.
    const subject = q.subject?.length === 36 ? q.subject : null
    await recordAdminAction(database, admin, "admin.audit_exported", { filters: q }, subject)
    res.set({
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`,
      "cache-control": "no-store",
    })
    await streamAuditCsv(database, auditFilters(q), res)
    res.end()
  })

  router.get(
    "/api/admin/notifications",
    ...guard,
    auditView(database, "notifications", outboxQuery),
    async (req, res) => {
      const q = parseOr400(outboxQuery, req.query, "query")
      try {
        const page = await listFailedNotifications(database.db, q)
        res.json({ items: page.items, next_cursor: page.nextCursor })
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new AppError("BAD_REQUEST", "invalid cursor")
        throw err
      }
    },
  )

  router.post("/api/admin/notifications/:id/retry", ...guard, async (req, res) => {
    const { id: notificationId } = parseOr400(notificationParams, req.params, "path")
    const result = await retryNotification(database.db, notificationId)
    if (result.status === "not_found") throw new AppError("NOT_FOUND", "no such notification")
    if (result.status === "not_retryable") {
      throw new AppError("CONFLICT", `this notification is ${result.current}, not failed`)
    }
    res.json(result)
  })

  router.get("/api/admin/policy", ...guard, auditView(database, "policy"), async (_req, res) => {
    res.json(await getOrgPolicy(database.db))
  })

  router.put("/api/admin/policy", ...guard, async (req, res) => {
    const admin = adminOf(req)
    // Weakening who needs 2FA is a super admin's call.
    if (admin.role !== "super_admin")
      throw new AppError("FORBIDDEN", "only a super admin changes the policy")
    const change = parseOr400(orgPolicyUpdate, req.body, "body")
    const { before, after } = await updateOrgPolicy(database.db, change, admin.id)
    await recordAdminAction(database, admin, "policy.updated", {
      before,
      after,
      changed: Object.keys(change),
    })
    res.json(after)
  })
}

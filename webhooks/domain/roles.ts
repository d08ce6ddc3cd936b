import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture } from "../kratos/identity"
import { appendAudit } from "./audit"
import { withAuthorization } from "./authorization"
import { changeAuthorization } from "./kratos-sync"
import type { Role } from "../policy/roles"

export interface RoleActor {
  type: "admin" | "system"
  id: string | null
  role: Role | null
  ip: string | null
  userAgent: string | null
  requestId: string
}

const PRIVILEGED: Role[] = ["admin", "super_admin"]

/**
 * Sets a person's role. Nobody changes their own role; only a super admin grants or removes
 * admin and super_admin; `system` (the bootstrap command) may do anything. The service's record
 * is written with its `admin.role_changed` entry first, then Kratos is brought in step. The
 * time of assignment starts a 2FA enrolment grace period; the operator (`system`) may give an
 * earlier one (`assignedAt`, checked to be in the past by the route).
 */
export async function setRole(
  d: { database: Database; kratos: KratosAdmin },
  actor: RoleActor,
  targetId: string,
  role: Role,
  assignedAt?: Date,
): Promise<{ previous: Role; role: Role; changed: boolean }> {
  if (assignedAt && actor.type !== "system")
    throw new AppError("FORBIDDEN", "only the operator dates a role assignment")
  const target = await d.kratos.summary(targetId)
  if (!target) throw new AppError("NOT_FOUND", "no such user")
  const { result } = await changeAuthorization(
    d,
    targetId,
    { by: actor.id ?? actor.type, requestId: actor.requestId, source: "admin" },
    (current) => {
      const previous = current.role as Role
      if (actor.type === "admin") {
        if (actor.id === targetId) throw new AppError("FORBIDDEN", "you can't change your own role")
        const touchesPrivileged = PRIVILEGED.includes(role) || PRIVILEGED.includes(previous)
        if (touchesPrivileged && actor.role !== "super_admin") {
          throw new AppError("FORBIDDEN", "only a super admin grants or removes admin roles")
        }
      }
      if (previous === role) return { set: null, result: { previous, role, changed: false } }
      return {
        set: { role, roleAssignedAt: assignedAt ?? new Date() },
        result: { previous, role, changed: true },
      }
    },
    async (tx, _before, after, r) => {
      await appendAudit(tx, {
        event: "admin.role_changed",
        actorType: actor.type,
        actorId: actor.id,
        subjectId: targetId,
        ip: actor.ip,
        userAgent: actor.userAgent,
        requestId: actor.requestId,
        posture: posture(withAuthorization(target, after)),
        details: {
          from: r.previous,
          to: role,
          ...(assignedAt ? { assigned_at: after.roleAssignedAt!.toISOString() } : {}),
        },
        dedupKey: `role:${targetId}:${after.roleAssignedAt!.toISOString()}`,
      })
    },
  )
  return result
}

/** `setRole` for the person Kratos knows by this email (the operator's command names people so). */
export async function setRoleByEmail(
  d: { database: Database; kratos: KratosAdmin },
  actor: RoleActor,
  email: string,
  role: Role,
  assignedAt?: Date,
): Promise<{ identityId: string; previous: Role; role: Role; changed: boolean }> {
  const identity = await d.kratos.findByIdentifier(email)
  if (!identity) throw new AppError("NOT_FOUND", `no user with email ${email}`)
  return { identityId: identity.id, ...(await setRole(d, actor, identity.id, role, assignedAt)) }
}

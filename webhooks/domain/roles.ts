import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture } from "../kratos/identity"
import { appendAudit } from "./audit"
import { writeMetadata } from "./force-password-change"
import type { Role } from "./org-policy"

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
 * admin and super_admin; `system` (the bootstrap command) may do anything. Audited as
 * `admin.role_changed`. The time of assignment starts a 2FA enrolment grace period.
 */
export async function setRole(
  d: { database: Database; kratos: KratosAdmin },
  actor: RoleActor,
  targetId: string,
  role: Role,
): Promise<{ previous: Role; role: Role; changed: boolean }> {
  const target = await d.kratos.summary(targetId)
  if (!target) throw new AppError("NOT_FOUND", "no such user")
  if (actor.type === "admin") {
    if (actor.id === targetId) throw new AppError("FORBIDDEN", "you can't change your own role")
    const touchesPrivileged = PRIVILEGED.includes(role) || PRIVILEGED.includes(target.role)
    if (touchesPrivileged && actor.role !== "super_admin") {
      throw new AppError("FORBIDDEN", "only a super admin grants or removes admin roles")
    }
  }
  if (target.role === role) return { previous: role, role, changed: false }

  const assignedAt = new Date().toISOString()
  const metadata = { ...target.metadataPublic, role, role_assigned_at: assignedAt }
  await writeMetadata(d.kratos, targetId, { public: metadata })
  await appendAudit(d.database.db, {
    event: "admin.role_changed",
    actorType: actor.type,
    actorId: actor.id,
    subjectId: targetId,
    ip: actor.ip,
    userAgent: actor.userAgent,
    requestId: actor.requestId,
    posture: posture({ ...target, role, metadataPublic: metadata }),
    details: { from: target.role, to: role },
    dedupKey: `role:${targetId}:${assignedAt}`,
  })
  return { previous: target.role, role, changed: true }
}

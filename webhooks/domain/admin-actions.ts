import type { Database, Db, Tx } from "../../db/client"
import { lockPolicy } from "../data/org-policy"
import type { AdminActor } from "./admin-users"
import { appendAudit, type AuditEventName } from "./audit"
import {
  type OrgPolicy,
  type OrgPolicyUpdate,
  rememberOrgPolicy,
  updateOrgPolicy,
} from "./org-policy"
import { AppError } from "../errors"

/** An audit entry with the admin as actor; one per request (a retry adds nothing). */
export function recordAdminAction(
  tx: Tx,
  admin: AdminActor,
  event: AuditEventName,
  details: Record<string, unknown>,
  subjectId: string | null = null,
) {
  return appendAudit(tx, {
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

type AdminActionArgs = Parameters<typeof recordAdminAction> extends [Tx, ...infer A] ? A : never

/** `recordAdminAction` in a transaction of its own: for what writes nothing else (a look). */
export function recordAdminLook(db: Db, ...args: AdminActionArgs) {
  return db.transaction((tx) => recordAdminAction(tx, ...args))
}

/**
 * A super admin changes the organisation's policy: the change and its audit entry (before,
 * after, which fields) are written in one transaction, so neither exists without the other.
 */
export async function changeOrgPolicy(
  database: Database,
  admin: AdminActor,
  change: OrgPolicyUpdate,
): Promise<OrgPolicy> {
  // Weakening who needs 2FA is a super admin's call.
  if (admin.role !== "super_admin") {
    throw new AppError("FORBIDDEN", "only a super admin changes the policy")
  }
  const after = await database.db.transaction(async (tx) => {
    // One change at a time: each computes its requirements' start times from the one before.
    await lockPolicy(tx)
    const { before, after } = await updateOrgPolicy(tx, change, admin.id)
    await recordAdminAction(tx, admin, "policy.updated", {
      before,
      after,
      changed: Object.keys(change),
    })
    return after
  })
  rememberOrgPolicy(database.db, after)
  return after
}

import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture, type CredentialSummary } from "../kratos/identity"
import { appendAudit } from "./audit"
import { authorizationOf, forceFlagOf, withAuthorization } from "./authorization"
import { changeAuthorization } from "./kratos-sync"
import { enqueueFor } from "./notifications/enqueue"

export interface ForceChangeDeps {
  database: Database
  kratos: KratosAdmin
  securityTeam: string[]
  publicUrl: string
}

export interface Actor {
  id: string
  email: string | null
  ip: string | null
  userAgent: string | null
  requestId: string
}

async function load(kratos: KratosAdmin, id: string): Promise<CredentialSummary> {
  const s = await kratos.summary(id)
  if (!s) throw new AppError("NOT_FOUND", "no such user")
  return s
}

/**
 * An admin requires a person to change their password; the service's record and the audit
 * entry (the admin as actor) are written first, then Kratos is brought in step.
 */
export async function requirePasswordChange(
  d: ForceChangeDeps,
  admin: Actor,
  targetId: string,
): Promise<{ setAt: string; alreadyRequired: boolean }> {
  const target = await load(d.kratos, targetId)
  const { result } = await changeAuthorization(
    d,
    targetId,
    { by: admin.id, requestId: admin.requestId, source: "admin" },
    (current) => {
      if (current.forceRequired && current.forceSetAt) {
        return {
          set: null,
          result: { setAt: current.forceSetAt.toISOString(), alreadyRequired: true },
        }
      }
      const setAt = new Date()
      // The fingerprint of the current password hash is what the ack compares against: Kratos's
      // credential timestamps move on any identity update, the hash only when the password changes.
      return {
        set: {
          forceRequired: true,
          forceSetAt: setAt,
          forceSetBy: admin.id,
          forceClearedAt: null,
          forceFingerprint: target.password?.fingerprint ?? null,
        },
        result: { setAt: setAt.toISOString(), alreadyRequired: false },
      }
    },
    async (tx, _before, after, r) => {
      await appendAudit(tx, {
        event: "auth.force_password_change_required",
        actorType: "admin",
        actorId: admin.id,
        subjectId: targetId,
        ip: admin.ip,
        userAgent: admin.userAgent,
        requestId: admin.requestId,
        posture: posture(withAuthorization(target, after)),
        details: { set_at: r.setAt },
        dedupKey: `force_required:${targetId}:${r.setAt}`,
      })
    },
  )
  return result
}

export type AckResult =
  { status: "cleared"; setAt: string; changedAt: string } | { status: "not_required" }

/**
 * The person says they changed their password. The flag is cleared only if Kratos shows a
 * password change after the flag was set (otherwise 409, flag kept). Idempotent: a second ack
 * finds the flag cleared. The cleared flag, its audit entry and the notifications to the
 * manager and the security team are written in one transaction, then Kratos is brought in
 * step; if the transaction fails the flag stays set, so a retry completes it.
 */
export async function acknowledgePasswordChange(d: ForceChangeDeps, me: Actor): Promise<AckResult> {
  const s = await load(d.kratos, me.id)
  const authz = await authorizationOf(d, me.id, s)
  const flag = authz ? forceFlagOf(authz) : null
  if (!authz || !flag) return { status: "not_required" }
  const changedAt = s.password?.updatedAt ?? null
  const atSet = authz.forceFingerprint
  const changed = atSet !== null && !!s.password?.fingerprint && s.password.fingerprint !== atSet
  if (flag.required && !changed) {
    throw new AppError(
      "CONFLICT",
      "Your password has not been changed since the change was required.",
    )
  }
  const manager = authz.managerId ? await d.kratos.summary(authz.managerId) : null
  await changeAuthorization(
    d,
    me.id,
    { by: me.id, requestId: me.requestId, source: "user" },
    (current) => {
      if (!current.forceRequired) return { set: null, result: null }
      // Required again (a new set_at) since the check above: that one needs its own change.
      if (current.forceSetAt?.toISOString() !== flag.set_at) {
        throw new AppError("CONFLICT", "A new password change was required meanwhile.")
      }
      return { set: { forceRequired: false, forceClearedAt: new Date() }, result: null }
    },
    async (tx, _before, after) => {
      const occurredAt = new Date()
      const details = { set_at: flag.set_at, set_by: flag.set_by, password_changed_at: changedAt }
      const entry = await appendAudit(tx, {
        event: "auth.force_password_change_cleared",
        actorType: "user",
        actorId: me.id,
        subjectId: me.id,
        ip: me.ip,
        userAgent: me.userAgent,
        requestId: me.requestId,
        posture: posture(withAuthorization(s, after)),
        details,
        dedupKey: `force_cleared:${me.id}:${flag.set_at}`,
        occurredAt,
      })
      // Manager and security team; idempotent, and a replayed ack finds them queued already.
      if (entry.inserted) {
        await enqueueFor(tx, {
          auditEventId: entry.eventId,
          event: "auth.force_password_change_cleared",
          subject: { id: me.id, email: s.email, managerEmail: manager?.email ?? null },
          details,
          occurredAt,
          ip: me.ip,
          userAgent: me.userAgent,
          securityTeam: d.securityTeam,
          publicUrl: d.publicUrl,
        })
      }
    },
  )
  return { status: "cleared", setAt: flag.set_at, changedAt: changedAt ?? "" }
}

import type { Identity } from "@ory/client"
import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture, type CredentialSummary, type ForcePasswordChange } from "../kratos/identity"
import { appendAudit } from "./audit"
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

/**
 * Replaces metadata_public as a whole: JSON Patch cannot add a child under a null parent, and
 * identities created through the admin API may have no metadata_public at all.
 */
export async function writeMetadata(
  kratos: KratosAdmin,
  identityId: string,
  value: { public?: Record<string, unknown>; admin?: Record<string, unknown> },
): Promise<Identity> {
  const jsonPatch = [
    ...(value.public
      ? [{ op: "add" as const, path: "/metadata_public", value: value.public }]
      : []),
    ...(value.admin ? [{ op: "add" as const, path: "/metadata_admin", value: value.admin }] : []),
  ]
  const { data } = await kratos.identities.patchIdentity({ id: identityId, jsonPatch })
  return data
}

async function load(kratos: KratosAdmin, id: string): Promise<CredentialSummary> {
  const s = await kratos.summary(id)
  if (!s) throw new AppError("NOT_FOUND", "no such user")
  return s
}

/** An admin requires a person to change their password; audited with the admin as actor. */
export async function requirePasswordChange(
  d: ForceChangeDeps,
  admin: Actor,
  targetId: string,
): Promise<{ setAt: string; alreadyRequired: boolean }> {
  const target = await load(d.kratos, targetId)
  const current = target.metadataPublic.force_password_change
  if (current?.required) return { setAt: current.set_at, alreadyRequired: true }

  const flag: ForcePasswordChange = {
    required: true,
    set_at: new Date().toISOString(),
    set_by: admin.id,
    cleared_at: null,
  }
  // The fingerprint of the current password hash is what the ack compares against: Kratos's
  // credential timestamps move on any identity update, the hash only when the password changes.
  await writeMetadata(d.kratos, targetId, {
    public: { ...target.metadataPublic, force_password_change: flag },
    admin: {
      ...target.metadataAdmin,
      force_password_change_fingerprint: target.password?.fingerprint ?? null,
    },
  })
  const after = {
    ...target,
    metadataPublic: { ...target.metadataPublic, force_password_change: flag },
  }
  await appendAudit(d.database.db, {
    event: "auth.force_password_change_required",
    actorType: "admin",
    actorId: admin.id,
    subjectId: targetId,
    ip: admin.ip,
    userAgent: admin.userAgent,
    requestId: admin.requestId,
    posture: posture(after),
    details: { set_at: flag.set_at },
    dedupKey: `force_required:${targetId}:${flag.set_at}`,
  })
  return { setAt: flag.set_at, alreadyRequired: false }
}

export type AckResult =
  { status: "cleared"; setAt: string; changedAt: string } | { status: "not_required" }

/**
 * The person says they changed their password. The flag is cleared only if Kratos shows a
 * password change after the flag was set (otherwise 409, flag kept). Idempotent: a second ack
 * finds the flag cleared and the audit entry already there. The entry and the notifications
 * to the manager and the security team are written in one transaction; if that fails the
 * request fails and the flag stays set, so a retry completes it.
 */
export async function acknowledgePasswordChange(d: ForceChangeDeps, me: Actor): Promise<AckResult> {
  const s = await load(d.kratos, me.id)
  const flag = s.metadataPublic.force_password_change
  if (!flag) return { status: "not_required" }
  const changedAt = s.password?.updatedAt ?? null
  const atSet = s.metadataAdmin.force_password_change_fingerprint ?? null
  const changed = atSet !== null && !!s.password?.fingerprint && s.password.fingerprint !== atSet
  if (flag.required && !changed) {
    throw new AppError(
      "CONFLICT",
      "Your password has not been changed since the change was required.",
    )
  }
  const clearedFlag: ForcePasswordChange = {
    ...flag,
    required: false,
    cleared_at: flag.cleared_at ?? new Date().toISOString(),
  }
  const after = {
    ...s,
    metadataPublic: { ...s.metadataPublic, force_password_change: clearedFlag },
  }
  const manager = s.managerId ? await d.kratos.summary(s.managerId) : null

  await d.database.db.transaction(async (tx) => {
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
      posture: posture(after),
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
    // Inside the transaction: if Kratos refuses, nothing above is committed.
    if (flag.required) {
      await writeMetadata(d.kratos, me.id, {
        public: { ...s.metadataPublic, force_password_change: clearedFlag },
      })
    }
  })
  return { status: "cleared", setAt: flag.set_at, changedAt: changedAt ?? "" }
}

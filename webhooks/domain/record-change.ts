import type { SettingsMethod } from "../../kratos/hooks/bodies"
import { confirmPendingStatement } from "../data/pending-changes"
import { posture, type CredentialSummary } from "../kratos/identity"
import { keyRevocationFor } from "./api-keys"
import { changeEvents } from "./change-events"
import { selfActed, trailWrite, type ChangeDeps } from "./hook-trail"

/** A settings change Kratos has stored, as its post-persist call or the reconciler saw it. */
export interface RecordInput {
  method: SettingsMethod
  before: CredentialSummary | null
  after: CredentialSummary
  traits?: { previous: Record<string, unknown>; current: Record<string, unknown> }
  flowId: string
  ip: string | null
  userAgent: string | null
  requestId: string | null
  pendingId: number | null
}

/**
 * The audit entries of a stored settings change (one per event it made) with their
 * notifications, and its pending record confirmed: one transaction, sent at once.
 */
export async function recordChange(d: ChangeDeps, r: RecordInput): Promise<void> {
  const events = changeEvents(r.method, r.before, r.after, r.traits)
  const write = trailWrite()
  if (r.pendingId !== null) write.add(confirmPendingStatement(r.pendingId))
  for (const e of events) {
    const occurredAt = new Date()
    const details = { ...e.details, method: e.details.method ?? r.method }
    write.entry(
      {
        event: e.event,
        ...selfActed(r.after.identityId, {
          ip: r.ip,
          userAgent: r.userAgent,
          flowId: r.flowId,
          requestId: r.requestId,
        }),
        posture: posture(r.after),
        details,
        dedupKey: `settings:${r.flowId}:${r.method}:${e.event}:${e.discriminator}`,
        occurredAt,
      },
      {
        event: e.event,
        subject: { id: r.after.identityId, email: r.after.email },
        details,
        occurredAt,
        ip: r.ip,
        userAgent: r.userAgent,
        publicUrl: d.publicUrl,
      },
    )
  }
  if (events.some((e) => e.event === "auth.password_changed")) {
    // Every API key of the person ends with the password, in the same transaction.
    const keys = await keyRevocationFor(d.database.db, { ...r, identityId: r.after.identityId })
    if (keys) {
      write.add(keys.revoke)
      write.entry(keys.entry)
    }
  }
  await write.commit(d.database.db)
}

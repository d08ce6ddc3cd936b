import type { Tx } from "../../../db/client"
import type { AuditEventName } from "../audit"
import { enqueueNotifications, type NotificationInput } from "../../data/outbox"
import { switchedOff } from "../../data/notification-preferences"
import { getOrgPolicy } from "../org-policy"
import { recipientsFor } from "./recipients"
import { renderNotification, type NotificationKind } from "./templates"

export interface NotifyInput {
  /** The `event_id` of the audit entry written in the same transaction. */
  auditEventId: string
  event: AuditEventName
  subject: { id: string; email: string | null; managerEmail?: string | null }
  /** The administrator who made the change, when it was not the subject. */
  actor?: { id: string | null; email?: string | null } | null
  /** The audit entry's details; templates read only named, non-secret fields. */
  details?: Record<string, unknown>
  occurredAt: Date
  ip?: string | null
  userAgent?: string | null
  securityTeam?: readonly string[]
  /** auth.login only: the login came from a device not seen before for this account. */
  newDevice?: boolean
  /** The service's public origin, for a plain link to the Security page. */
  publicUrl?: string | null
  /** A recovery request's email code: only its own mail shows it, never the audit entry. */
  oneTimeCode?: string | null
}

export interface Queued {
  kind: NotificationKind
  recipient: string
  /** false when this notification was already queued (a replayed change). */
  queued: boolean
}

/**
 * Decides who hears about an audited event and writes their outbox rows. Call it with the
 * transaction that wrote the audit entry, so the mails exist exactly when the entry does.
 * Idempotent: one row per (audit entry, kind, recipient), so calling it again adds nothing.
 */
export async function enqueueFor(tx: Tx, input: NotifyInput): Promise<Queued[]> {
  const recipients = await withoutSwitchedOff(tx, input.subject.id, recipientsFor(input))
  const queued = await enqueueNotifications(tx, rendered(input, recipients))
  return recipients.map((r, i) => ({ kind: r.kind, recipient: r.to, queued: queued[i]! }))
}

/** The outbox rows of an audited event (who hears about it, and the rendered mail). */
export function notificationsFor(input: NotifyInput): NotificationInput[] {
  return rendered(input, recipientsFor(input))
}

/** A person's own mails they switched off (and the policy does not require) are left out. */
async function withoutSwitchedOff(
  tx: Tx,
  personId: string,
  recipients: ReturnType<typeof recipientsFor>,
): Promise<ReturnType<typeof recipientsFor>> {
  const own = recipients.filter((r) => r.kind.startsWith("user.")).map((r) => r.kind)
  if (own.length === 0) return recipients
  const [off, policy] = await Promise.all([switchedOff(tx, personId, own), getOrgPolicy(tx)])
  const skip = new Set(
    off.filter((k) => !(policy.mandatoryNotifications as readonly string[]).includes(k)),
  )
  return recipients.filter((r) => !skip.has(r.kind))
}

function rendered(input: NotifyInput, recipients: ReturnType<typeof recipientsFor>) {
  return recipients.map((r) => {
    const mail = renderNotification(r.kind, {
      subject: input.subject,
      actor: input.actor,
      occurredAt: input.occurredAt,
      ip: input.ip,
      userAgent: input.userAgent,
      details: input.details,
      publicUrl: input.publicUrl,
      oneTimeCode: input.oneTimeCode,
    })
    return {
      auditEventId: input.auditEventId,
      kind: r.kind,
      recipient: r.to,
      subject: mail.subject,
      bodyText: mail.text,
      bodyHtml: mail.html,
      personId: r.kind.startsWith("user.") ? input.subject.id : null,
    }
  })
}

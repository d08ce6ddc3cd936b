import { randomUUID } from "node:crypto"
import { and, asc, eq, type SQL } from "drizzle-orm"
import type { Db } from "../../db/client"
import type { Statement } from "../../db/raw"
import { notificationOutbox } from "../../db/schema"

export const outboxStatuses = ["pending", "sending", "sent", "dead"] as const
export type OutboxStatus = (typeof outboxStatuses)[number]

export type OutboxRow = typeof notificationOutbox.$inferSelect

export interface NotificationInput {
  /** The `event_id` of the audit entry this notification reports. */
  auditEventId: string
  kind: string
  recipient: string
  subject: string
  bodyText: string
  bodyHtml?: string | null
}

/**
 * Queues notifications in the caller's transaction, next to the audit entry they report, so
 * they are sent exactly when the change commits; one statement (one round trip, which matters
 * while the caller holds the audit chain lock). A replayed change queues nothing new: one row
 * per (audit entry, kind, recipient).
 *
 * Each Message-ID is chosen here, once, and reused on every send attempt, so a retry after an
 * SMTP timeout that did deliver shows up as the same message rather than a second one.
 *
 * @returns for each notification, whether a row was inserted (false when already queued).
 */
export async function enqueueNotifications(db: Db, list: NotificationInput[]): Promise<boolean[]> {
  if (list.length === 0) return []
  const inserted = await db
    .insert(notificationOutbox)
    .values(
      list.map((n) => ({
        auditEventId: n.auditEventId,
        kind: n.kind,
        recipient: n.recipient,
        subject: n.subject,
        bodyText: n.bodyText,
        bodyHtml: n.bodyHtml ?? null,
        messageId: `<${randomUUID()}@kratos-guard>`,
      })),
    )
    .onConflictDoNothing({
      target: [
        notificationOutbox.auditEventId,
        notificationOutbox.kind,
        notificationOutbox.recipient,
      ],
    })
    .returning({
      auditEventId: notificationOutbox.auditEventId,
      kind: notificationOutbox.kind,
      recipient: notificationOutbox.recipient,
    })
  const key = (n: { auditEventId: string; kind: string; recipient: string }) =>
    JSON.stringify([n.auditEventId, n.kind, n.recipient])
  const done = new Set(inserted.map(key))
  return list.map((n) => done.has(key(n)))
}

const ENQUEUE_IF_AUDITED = `
  insert into notification_outbox
    (audit_event_id, kind, recipient, subject, body_text, body_html, message_id)
  select n.audit_event_id, n.kind, n.recipient, n.subject, n.body_text, n.body_html, n.message_id
    from json_to_recordset($1::json) as n(audit_event_id uuid, kind text, recipient text,
         subject text, body_text text, body_html text, message_id text)
   where exists (select 1 from audit_events e where e.event_id = n.audit_event_id)
  on conflict (audit_event_id, kind, recipient) do nothing
  returning audit_event_id, kind, recipient`

/**
 * `enqueueNotifications` as one statement of `atomic` (db/raw.ts), sent after the append of
 * the audit entry the rows report, which may be a replay: they are written only if the entry
 * exists (its `event_id` is chosen before the append, see appendStatements), so a replayed
 * change queues nothing. Null when there is nothing to queue.
 */
export function enqueueIfAuditedStatement(list: NotificationInput[]): Statement | null {
  if (list.length === 0) return null
  const rows = list.map((n) => ({
    audit_event_id: n.auditEventId,
    kind: n.kind,
    recipient: n.recipient,
    subject: n.subject,
    body_text: n.bodyText,
    body_html: n.bodyHtml ?? null,
    message_id: `<${randomUUID()}@kratos-guard>`,
  }))
  return [ENQUEUE_IF_AUDITED, [JSON.stringify(rows)]]
}

/** Outbox rows, oldest first, optionally for one audit entry and/or in one status. */
export async function listOutbox(
  db: Db,
  opts: { auditEventId?: string; status?: OutboxStatus } = {},
): Promise<OutboxRow[]> {
  const where: SQL[] = []
  if (opts.auditEventId !== undefined)
    where.push(eq(notificationOutbox.auditEventId, opts.auditEventId))
  if (opts.status !== undefined) where.push(eq(notificationOutbox.status, opts.status))
  return db
    .select()
    .from(notificationOutbox)
    .where(and(...where))
    .orderBy(asc(notificationOutbox.createdAt), asc(notificationOutbox.id))
}

import { randomUUID } from "node:crypto"
import { and, asc, eq, type SQL } from "drizzle-orm"
import type { Db } from "../../db/client"
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

import { randomUUID } from "node:crypto"
import { and, asc, desc, eq, gt, inArray, lt, or, sql, type SQL } from "drizzle-orm"
import type { Database, Db } from "../../db/client"
import type { Statement } from "../../db/raw"
import { notificationOutbox } from "../../db/schema"
import { defaultMandatoryNotifications } from "../policy/notification-choices"

/**
 * `notification_outbox`: mail queued in the transaction of the audit entry it reports, then
 * claimed, sent and marked by the dispatcher (domain/notifications/dispatcher.ts).
 */

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
  /**
   * The person this mail is about when it is theirs (a `user.*` mail): it is not queued when
   * they switched its kind off and the organisation does not make it mandatory.
   */
  personId?: string | null
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
         subject text, body_text text, body_html text, message_id text, person_id uuid)
   where exists (select 1 from audit_events e where e.event_id = n.audit_event_id)
     and not exists (
       select 1 from notification_preferences p
        where p.identity_id = n.person_id and p.kind = n.kind and not p.enabled
          and not n.kind = any(coalesce(
            (select o.mandatory_notifications from org_policy o where o.id = 'default'),
            $2::text[])))
  on conflict (audit_event_id, kind, recipient) do nothing
  returning audit_event_id, kind, recipient`

/**
 * `enqueueNotifications` as one statement of `atomic` (db/raw.ts), sent after the append of
 * the audit entry the rows report, which may be a replay: they are written only if the entry
 * exists (its `event_id` is chosen before the append, see appendStatements), so a replayed
 * change queues nothing; a person's own mail is left out when they switched its kind off and
 * the organisation's policy does not make it mandatory. Null when there is nothing to queue.
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
    person_id: n.personId ?? null,
  }))
  return [ENQUEUE_IF_AUDITED, [JSON.stringify(rows), defaultMandatoryNotifications]]
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

/** A notification that failed at least once: `dead`, or `pending`/`sending` with attempts. */
export type FailedFilter = "dead" | "retrying" | undefined

/**
 * Up to `limit` failed notifications, newest first, before the keyset position `before`
 * (created_at, id) when given.
 */
export function failedOutboxRows(
  db: Db,
  opts: { status: FailedFilter; before: { createdAt: Date; id: string } | null; limit: number },
): Promise<OutboxRow[]> {
  const o = notificationOutbox
  const retrying = and(inArray(o.status, ["pending", "sending"]), gt(o.attempts, 0))!
  const where: SQL[] = [
    opts.status === "dead"
      ? eq(o.status, "dead")
      : opts.status === "retrying"
        ? retrying
        : or(eq(o.status, "dead"), retrying)!,
  ]
  const c = opts.before
  if (c) {
    where.push(or(lt(o.createdAt, c.createdAt), and(eq(o.createdAt, c.createdAt), lt(o.id, c.id)))!)
  }
  return db
    .select()
    .from(o)
    .where(and(...where))
    .orderBy(desc(o.createdAt), desc(o.id))
    .limit(opts.limit)
}

/**
 * Puts a failed notification (dead, or pending after a failed attempt) back in the queue with
 * a fresh set of attempts, due now; answers whether it did.
 */
export async function requeueFailed(db: Db, id: string): Promise<boolean> {
  const o = notificationOutbox
  const updated = await db
    .update(o)
    .set({ status: "pending", attempts: 0, nextAttemptAt: sql`now()`, lockedUntil: null })
    .where(
      and(eq(o.id, id), or(eq(o.status, "dead"), and(eq(o.status, "pending"), gt(o.attempts, 0)))),
    )
    .returning({ id: o.id })
  return updated.length > 0
}

/** A notification's status, or null when there is no such notification. */
export async function outboxStatus(db: Db, id: string): Promise<string | null> {
  const o = notificationOutbox
  const [row] = await db.select({ status: o.status }).from(o).where(eq(o.id, id))
  return row ? row.status : null
}

/** A row the dispatcher claimed, with the lease it holds. */
export interface ClaimedRow {
  id: string
  kind: string
  recipient: string
  subject: string
  body_text: string
  body_html: string | null
  message_id: string
  attempts: number
  /** The lease this claim holds, as Postgres prints it: the fence for marking a failure. */
  lease: string
}

/**
 * Claims due rows: pending ones, and `sending` ones whose lease ran out (their sender died).
 * `FOR UPDATE SKIP LOCKED` lets several replicas claim side by side without waiting on or
 * double-claiming each other's rows; a row a competitor claimed just before is re-checked
 * against the WHERE clause (its new lease excludes it).
 */
const CLAIM = `
update notification_outbox o
   set status = 'sending', locked_until = now() + $1::int * interval '1 second'
 where o.id in (
   select id from notification_outbox
    where status in ('pending', 'sending')
      and next_attempt_at <= now()
      and (locked_until is null or locked_until < now())
    order by next_attempt_at
    limit $2
    for update skip locked)
returning o.id, o.kind, o.recipient, o.subject, o.body_text, o.body_html, o.message_id,
          o.attempts, o.locked_until::text as lease`

const MARK_SENT = `
update notification_outbox
   set status = 'sent', sent_at = now(), locked_until = null, last_error = null
 where id = $1 and status <> 'sent'`

/** Only while our claim still holds: after a lease ran out another sender owns the row. */
const MARK_FAILED = `
update notification_outbox
   set status = $2, attempts = $3, last_error = $4, locked_until = null,
       next_attempt_at = now() + $5::int * interval '1 millisecond'
 where id = $1 and status = 'sending' and locked_until = $6::timestamptz`

const RELEASE = `
update notification_outbox set status = 'pending', locked_until = null
 where id = any($1::uuid[]) and status = 'sending'`

/** Up to `batch` due rows, each held for `leaseSeconds`. */
export async function claimDue(
  database: Database,
  leaseSeconds: number,
  batch: number,
): Promise<ClaimedRow[]> {
  return (await database.query<ClaimedRow>(CLAIM, [leaseSeconds, batch])).rows
}

export async function markSent(database: Database, id: string): Promise<void> {
  await database.query(MARK_SENT, [id])
}

/** A failed attempt of an outbox row: due again after `delayMs`, or `dead`. */
export interface FailedAttempt {
  id: string
  dead: boolean
  attempts: number
  lastError: string
  delayMs: number
  /** The claim it was made under: the mark applies only while that claim still holds. */
  lease: string
}

/** $1–$4 of both outboxes' failure marks: the row, its new status, attempts and error. */
export const failedAttemptValues = (f: FailedAttempt) =>
  [f.id, f.dead ? "dead" : "pending", f.attempts, f.lastError] as const

/** A failed send: due again after `delayMs`, or `dead`; only while `lease` still holds. */
export async function markFailed(database: Database, f: FailedAttempt): Promise<void> {
  await database.query(MARK_FAILED, [...failedAttemptValues(f), f.delayMs, f.lease])
}

/** Hands claimed rows back unsent. */
export async function releaseClaims(database: Database, ids: string[]): Promise<void> {
  await database.query(RELEASE, [ids])
}

import { and, desc, eq, lt, or, sql, type SQL } from "drizzle-orm"
import type { Database, Db } from "../../db/client"
import { rawQuery } from "../../db/raw"
import { eventDeliveries, eventSubscribers } from "../../db/schema"
import { failedAttemptValues, type FailedAttempt } from "./outbox"

/**
 * `event_subscribers` and `event_deliveries`: the receivers of outbound security events and
 * the outbox of what each is sent. Deliveries are written by a trigger on `audit_events`
 * (migration 0010), in the transaction of the entry they carry; the sender
 * (domain/security-events/sender.ts) claims a subscriber's lane and sends its deliveries in
 * chain order.
 */

export type SubscriberRow = typeof eventSubscribers.$inferSelect
export type DeliveryRow = typeof eventDeliveries.$inferSelect
export const deliveryStatuses = ["pending", "delivered", "dead"] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

export interface SubscriberCounts {
  pending: number
  dead: number
  delivered: number
  lastDeliveredAt: Date | null
}

export async function insertSubscriber(
  db: Db,
  values: {
    name: string
    url: string
    eventTypes: string[]
    enabled: boolean
    secret: string
    createdBy: string
  },
): Promise<SubscriberRow> {
  const [row] = await db.insert(eventSubscribers).values(values).returning()
  return row!
}

export async function listSubscriberRows(db: Db): Promise<(SubscriberRow & SubscriberCounts)[]> {
  const rows = await db
    .select({
      s: eventSubscribers,
      pending: sql<number>`(select count(*)::int from event_deliveries d where d.subscriber_id = event_subscribers.id and d.status = 'pending')`,
      dead: sql<number>`(select count(*)::int from event_deliveries d where d.subscriber_id = event_subscribers.id and d.status = 'dead')`,
      delivered: sql<number>`(select count(*)::int from event_deliveries d where d.subscriber_id = event_subscribers.id and d.status = 'delivered')`,
      lastDeliveredAt: sql<
        string | null
      >`(select to_json(max(d.delivered_at)) #>> '{}' from event_deliveries d where d.subscriber_id = event_subscribers.id)`,
    })
    .from(eventSubscribers)
    .orderBy(eventSubscribers.createdAt, eventSubscribers.id)
  return rows.map((r) => ({
    ...r.s,
    pending: Number(r.pending),
    dead: Number(r.dead),
    delivered: Number(r.delivered),
    lastDeliveredAt: r.lastDeliveredAt ? new Date(r.lastDeliveredAt) : null,
  }))
}

export async function subscriberRow(db: Db, id: string): Promise<SubscriberRow | undefined> {
  const [row] = await db.select().from(eventSubscribers).where(eq(eventSubscribers.id, id))
  return row
}

/** The oldest subscriber of that name, locked for the caller's transaction. */
export async function subscriberByNameForUpdate(
  db: Db,
  name: string,
): Promise<SubscriberRow | undefined> {
  const [row] = await db
    .select()
    .from(eventSubscribers)
    .where(eq(eventSubscribers.name, name))
    .orderBy(eventSubscribers.createdAt)
    .limit(1)
    .for("update")
  return row
}

export async function updateSubscriberRow(
  db: Db,
  id: string,
  values: Partial<Pick<SubscriberRow, "name" | "url" | "eventTypes" | "enabled">>,
): Promise<SubscriberRow | undefined> {
  const [row] = await db
    .update(eventSubscribers)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(eventSubscribers.id, id))
    .returning()
  return row
}

/** A new secret; the current one keeps signing too until `previousUntil`. */
export async function rotateSubscriberSecret(
  db: Db,
  id: string,
  secret: string,
  previousUntil: Date,
): Promise<SubscriberRow | undefined> {
  const [row] = await db
    .update(eventSubscribers)
    .set({
      previousSecret: sql`${eventSubscribers.secret}`,
      previousSecretExpiresAt: previousUntil,
      secret,
      updatedAt: sql`now()`,
    })
    .where(eq(eventSubscribers.id, id))
    .returning()
  return row
}

export async function deleteSubscriberRow(db: Db, id: string): Promise<boolean> {
  const gone = await db
    .delete(eventSubscribers)
    .where(eq(eventSubscribers.id, id))
    .returning({ id: eventSubscribers.id })
  return gone.length > 0
}

/** A subscriber's deliveries, newest entry first, optionally in one status, before a keyset. */
export async function deliveryRows(
  db: Db,
  opts: { subscriberId: string; status?: DeliveryStatus; beforeAuditId?: number; limit: number },
): Promise<DeliveryRow[]> {
  const d = eventDeliveries
  const where: SQL[] = [eq(d.subscriberId, opts.subscriberId)]
  if (opts.status) where.push(eq(d.status, opts.status))
  if (opts.beforeAuditId !== undefined) where.push(lt(d.auditId, opts.beforeAuditId))
  return db
    .select()
    .from(d)
    .where(and(...where))
    .orderBy(desc(d.auditId))
    .limit(opts.limit)
}

/** A delivery that failed (dead, or pending after failed attempts) due again now, attempts reset. */
export async function requeueDelivery(
  db: Db,
  id: string,
): Promise<"requeued" | "not_found" | "not_failed"> {
  const d = eventDeliveries
  const done = await db
    .update(d)
    .set({ status: "pending", attempts: 0, nextAttemptAt: sql`now()` })
    .where(
      and(
        eq(d.id, id),
        or(eq(d.status, "dead"), and(eq(d.status, "pending"), sql`${d.attempts} > 0`)),
      ),
    )
    .returning({ id: d.id })
  if (done.length > 0) return "requeued"
  const [row] = await db.select({ id: d.id }).from(d).where(eq(d.id, id))
  return row ? "not_failed" : "not_found"
}

export async function deliveryRow(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.select().from(eventDeliveries).where(eq(eventDeliveries.id, id))
  return row
}

const REPLAY = `
  insert into event_deliveries (subscriber_id, audit_id, audit_event_id, event)
  select s.id, e.id, e.event_id, e.event
    from event_subscribers s
    join audit_events e on security_event_matches(s.event_types, e.event)
   where s.id = $1 and e.occurred_at >= $2::timestamptz and e.occurred_at < $3::timestamptz
  on conflict (subscriber_id, audit_id) do update
     set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null,
         replays = event_deliveries.replays + 1
  returning 1`

/**
 * Queues every entry of [from, to) that the subscriber's patterns match again: a delivery
 * that exists (sent or not) is due again with the same id, one that never existed (entries
 * from before the subscriber, or of a type it took up later) is added. Answers how many.
 */
export async function replayRange(
  db: Db,
  subscriberId: string,
  from: Date,
  to: Date,
): Promise<number> {
  const rows = await rawQuery(db, REPLAY, [subscriberId, from.toISOString(), to.toISOString()])
  return rows.length
}

/** A subscriber lane the sender claimed, with the lease it holds. */
export interface ClaimedLane {
  id: string
  url: string
  secret: string
  previous_secret: string | null
  lease: string
}

/**
 * Claims lanes: enabled subscribers whose oldest undelivered, sealed delivery is due, which no
 * live lease holds. `FOR UPDATE SKIP LOCKED` lets replicas claim side by side; the lease
 * (`lane_locked_until`) keeps a lane with one sender until it is released or runs out (the
 * sender died), so each subscriber gets its events one at a time and in order.
 */
const CLAIM_LANES = `
update event_subscribers s
   set lane_locked_until = now() + $1::int * interval '1 second'
 where s.id in (
   select c.id from event_subscribers c
    where c.enabled
      and (c.lane_locked_until is null or c.lane_locked_until < now())
      and (select d.next_attempt_at from event_deliveries d
             join audit_events e on e.id = d.audit_id
            where d.subscriber_id = c.id and d.status = 'pending' and e.seq is not null
            order by e.seq limit 1) <= now()
    limit $2
    for update skip locked)
returning s.id, s.url, s.secret,
          case when s.previous_secret_expires_at > now() then s.previous_secret end as previous_secret,
          s.lane_locked_until::text as lease`

export async function claimLanes(
  database: Database,
  leaseSeconds: number,
  limit: number,
): Promise<ClaimedLane[]> {
  return (await database.query<ClaimedLane>(CLAIM_LANES, [leaseSeconds, limit])).rows
}

/** A delivery of a claimed lane with the sealed entry it carries. */
export interface LaneDelivery {
  id: string
  attempts: number
  due: boolean
  entry: {
    id: number
    event_id: string
    dedup_key: string | null
    event: string
    occurred_at: string
    actor_type: string
    actor_id: string | null
    subject_id: string | null
    ip: string | null
    user_agent: string | null
    flow_id: string | null
    request_id: string | null
    posture: unknown
    details: unknown
    seq: number
    prev_hash: string | null
    hash: string
  }
}

const LANE_DELIVERIES = `
select d.id, d.attempts, d.next_attempt_at <= now() as due,
       json_build_object(
         'id', e.id, 'event_id', e.event_id, 'dedup_key', e.dedup_key, 'event', e.event,
         'occurred_at', e.occurred_at, 'actor_type', e.actor_type, 'actor_id', e.actor_id,
         'subject_id', e.subject_id, 'ip', e.ip, 'user_agent', e.user_agent,
         'flow_id', e.flow_id, 'request_id', e.request_id, 'posture', e.posture,
         'details', e.details, 'seq', e.seq, 'prev_hash', e.prev_hash, 'hash', e.hash) as entry
  from event_deliveries d
  join audit_events e on e.id = d.audit_id
 where d.subscriber_id = $1 and d.status = 'pending' and e.seq is not null
 order by e.seq
 limit $2`

/** Up to `limit` undelivered, sealed deliveries of one subscriber, in chain order. */
export async function laneDeliveries(
  database: Database,
  subscriberId: string,
  limit: number,
): Promise<LaneDelivery[]> {
  const rows = (await database.query<LaneDelivery>(LANE_DELIVERIES, [subscriberId, limit])).rows
  return rows.map((r) => ({
    ...r,
    entry: { ...r.entry, id: Number(r.entry.id), seq: Number(r.entry.seq) },
  }))
}

const MARK_DELIVERED = `
update event_deliveries
   set status = 'delivered', delivered_at = now(), last_error = null, last_status = $2
 where id = $1 and status = 'pending'`

export async function markDelivered(
  database: Database,
  id: string,
  httpStatus: number,
): Promise<void> {
  await database.query(MARK_DELIVERED, [id, httpStatus])
}

/** Only while the lane's lease still holds: after it ran out another sender owns the lane. */
const MARK_FAILED = `
update event_deliveries d
   set status = $2, attempts = $3, last_error = $4, last_status = $5,
       next_attempt_at = now() + $6::int * interval '1 millisecond'
 where d.id = $1 and d.status = 'pending'
   and exists (select 1 from event_subscribers s
                where s.id = d.subscriber_id and s.lane_locked_until = $7::timestamptz)`

export async function markDeliveryFailed(
  database: Database,
  f: FailedAttempt & { httpStatus: number | null },
): Promise<void> {
  const values = [...failedAttemptValues(f), f.httpStatus, f.delayMs, f.lease]
  await database.query(MARK_FAILED, values)
}

const RELEASE_LANE = `
update event_subscribers set lane_locked_until = null
 where id = $1 and lane_locked_until = $2::timestamptz`

export async function releaseLane(database: Database, id: string, lease: string): Promise<void> {
  await database.query(RELEASE_LANE, [id, lease])
}

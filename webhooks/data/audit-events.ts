import {
  and,
  asc,
  desc,
  eq,
  gt,
  gte,
  inArray,
  lt,
  lte,
  notInArray,
  sql,
  type SQL,
} from "drizzle-orm"
import type { Db } from "../../db/client"
import { rawQuery } from "../../db/raw"
import { auditEvents } from "../../db/schema"
import { idRange } from "../policy/id-prefix"

/**
 * Reads of `audit_events`. The chain's writes (append, lock, verify) stay in
 * domain/audit.ts, next to the hash they compute.
 */
export type AuditRow = typeof auditEvents.$inferSelect

/** Filters shared by the user's activity feed and the admin's org-wide log. */
export interface AuditFilters {
  subjectId?: string
  actorId?: string
  /** The start of the subject's id (idPrefix), as the console shows ids. */
  subjectPrefix?: string
  /** The start of the actor's id. */
  actorPrefix?: string
  event?: string | string[]
  /** Events left out (the user's own feed leaves out admins' looks at their record). */
  excludeEvents?: readonly string[]
  /** Inclusive. */
  from?: Date
  /** Exclusive. */
  to?: Date
}

function conditions(filters: AuditFilters): SQL[] {
  const out: SQL[] = []
  if (filters.subjectId !== undefined) out.push(eq(auditEvents.subjectId, filters.subjectId))
  if (filters.actorId !== undefined) out.push(eq(auditEvents.actorId, filters.actorId))
  // A prefix is the range of ids that start with it: the subject's a uuid range its index
  // reads; the actor's (text) compared byte-wise, whatever the database's collation.
  if (filters.subjectPrefix !== undefined) {
    const { lo, hi } = idRange(filters.subjectPrefix)
    out.push(gte(auditEvents.subjectId, lo), lte(auditEvents.subjectId, hi))
  }
  if (filters.actorPrefix !== undefined) {
    const { lo, hi } = idRange(filters.actorPrefix)
    out.push(sql`${auditEvents.actorId} collate "C" between ${lo} and ${hi}`)
  }
  if (filters.event !== undefined) {
    const events = Array.isArray(filters.event) ? filters.event : [filters.event]
    out.push(
      events.length === 1 ? eq(auditEvents.event, events[0]!) : inArray(auditEvents.event, events),
    )
  }
  if (filters.excludeEvents && filters.excludeEvents.length > 0)
    out.push(notInArray(auditEvents.event, [...filters.excludeEvents]))
  if (filters.from) out.push(gte(auditEvents.occurredAt, filters.from))
  if (filters.to) out.push(lt(auditEvents.occurredAt, filters.to))
  return out
}

/**
 * Up to `limit` entries, newest first, before the entry `beforeId` (keyset pagination). Each
 * filter maps onto an index: (subject_id[, event], id), (actor_id[, event], id), (event, id),
 * the primary key read backwards, or, for a time range alone, (occurred_at, id), so a page
 * costs an index range scan and never a sort of the whole match.
 */
export function auditPageQuery(
  db: Db,
  filters: AuditFilters,
  opts: { beforeId?: number; limit: number },
) {
  const where = conditions(filters)
  // A time range with no other filter is read in time order: newest first by id would walk
  // the primary key back from the newest entry to the range, however far back it lies.
  // Entries are appended in time order, so the two orders differ at most among entries of the
  // same instant; the cursor stays an id either way.
  const byTime =
    (filters.from !== undefined || filters.to !== undefined) &&
    filters.subjectId === undefined &&
    filters.actorId === undefined &&
    filters.subjectPrefix === undefined &&
    filters.actorPrefix === undefined &&
    filters.event === undefined
  const before = opts.beforeId
  if (before !== undefined) {
    where.push(
      byTime
        ? sql`(${auditEvents.occurredAt}, ${auditEvents.id}) < (select c.occurred_at, c.id from ${auditEvents} c where c.id = ${before})`
        : lt(auditEvents.id, before),
    )
  }
  return db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(
      ...(byTime ? [desc(auditEvents.occurredAt), desc(auditEvents.id)] : [desc(auditEvents.id)]),
    )
    .limit(opts.limit)
}

/** Up to `limit` matching entries after the entry `afterId`, in id order (an export's batch). */
export function auditBatchAfter(
  db: Db,
  filters: AuditFilters,
  afterId: number,
  limit: number,
): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions(filters), gt(auditEvents.id, afterId)))
    .orderBy(asc(auditEvents.id))
    .limit(limit)
}

/** An earlier sign-in or registration of an account: the device is told by its user agent. */
export interface EarlierLogin {
  event: string
  user_agent: string | null
}

/** The service's record and the devices of earlier sign-ins (see domain/login.ts). */
const LOGIN_READ = `
  select (select row_to_json(a) from identity_authz a where a.identity_id = $1::uuid) as authz,
         coalesce((select json_agg(h) from (
           select distinct event, user_agent from audit_events
            where subject_id = $1::uuid and event in ('auth.login', 'auth.registered')) h),
           '[]'::json) as earlier`

/**
 * The account's earlier sign-ins and registration (distinct event and user agent), with its
 * `identity_authz` row (as `row_to_json`) in the same statement: the login hook's only read.
 */
export async function earlierLogins(
  db: Db,
  identityId: string,
): Promise<{ authz: Record<string, unknown> | null; earlier: EarlierLogin[] } | undefined> {
  const [row] = await rawQuery<{ authz: Record<string, unknown> | null; earlier: EarlierLogin[] }>(
    db,
    LOGIN_READ,
    [identityId],
  )
  return row
}

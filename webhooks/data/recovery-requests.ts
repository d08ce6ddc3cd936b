import type { Db, Tx } from "../../db/client"
import { rawQuery } from "../../db/raw"

/**
 * `recovery_requests`: one row per lost-device request (domain/recovery-requests.ts). Every
 * function takes the handle to run on first (the pool or a transaction). Times are passed in
 * by the use case (its clock), never read from the database's `now()`.
 */
export type RecoveryStatus = "verifying" | "open" | "approved" | "denied" | "expired"

export interface Approval {
  admin_id: string
  at: string
}

export interface RecoveryRow {
  id: string
  identityId: string
  status: RecoveryStatus
  reason: string | null
  codeHash: string | null
  codeExpiresAt: Date | null
  codeAttempts: number
  codesSent: number
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  createdAt: Date
  submittedAt: Date | null
  expiresAt: Date | null
  approvals: Approval[]
  decidedAt: Date | null
  decidedBy: string | null
  decisionNote: string | null
}

const date = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v))

function rowOf(r: Record<string, unknown>): RecoveryRow {
  const approvals = typeof r.approvals === "string" ? JSON.parse(r.approvals) : r.approvals
  return {
    id: r.id as string,
    identityId: r.identity_id as string,
    status: r.status as RecoveryStatus,
    reason: (r.reason as string | null) ?? null,
    codeHash: (r.code_hash as string | null) ?? null,
    codeExpiresAt: date(r.code_expires_at),
    codeAttempts: Number(r.code_attempts),
    codesSent: Number(r.codes_sent),
    sessionId: (r.session_id as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
    userAgent: (r.user_agent as string | null) ?? null,
    createdAt: date(r.created_at)!,
    submittedAt: date(r.submitted_at),
    expiresAt: date(r.expires_at),
    approvals: Array.isArray(approvals) ? (approvals as Approval[]) : [],
    decidedAt: date(r.decided_at),
    decidedBy: (r.decided_by as string | null) ?? null,
    decisionNote: (r.decision_note as string | null) ?? null,
  }
}

// Timestamps as ISO text (to_json) so both drivers hand back the same thing.
const COLUMNS = `id, identity_id, status, reason, code_hash, to_json(code_expires_at) as code_expires_at,
  code_attempts, codes_sent, session_id, ip, user_agent, to_json(created_at) as created_at,
  to_json(submitted_at) as submitted_at, to_json(expires_at) as expires_at, approvals,
  to_json(decided_at) as decided_at, decided_by, decision_note`

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null

/** Serialises a person's requests, so two starts at once can't both pass the one-open check. */
const LOCK_PERSON = `select pg_advisory_xact_lock(hashtextextended('kg-recovery:' || $1, 0))`

export async function lockPersonRequests(tx: Tx, identityId: string): Promise<void> {
  await rawQuery(tx, LOCK_PERSON, [identityId])
}

const CURRENT = `select ${COLUMNS} from recovery_requests
  where identity_id = $1::uuid and status in ('verifying', 'open')`

/** The person's request still in progress (verifying its code, or open), if any. */
export async function currentRequest(db: Db, identityId: string): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, CURRENT, [identityId])
  return row ? rowOf(row) : null
}

const LATEST = `select ${COLUMNS} from recovery_requests r
  where identity_id = $1::uuid order by r.created_at desc, r.id limit 1`

/** The person's newest request, whatever its state. */
export async function latestRequest(db: Db, identityId: string): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, LATEST, [identityId])
  return row ? rowOf(row) : null
}

const BY_ID = `select ${COLUMNS} from recovery_requests where id = $1::uuid`
const BY_ID_FOR_UPDATE = `${BY_ID} for update`

export async function findRequest(
  db: Db,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(
    db,
    opts.forUpdate ? BY_ID_FOR_UPDATE : BY_ID,
    [id],
  )
  return row ? rowOf(row) : null
}

const INSERT = `insert into recovery_requests
  (identity_id, status, code_hash, code_expires_at, codes_sent, session_id, ip, user_agent, created_at)
  values ($1::uuid, 'verifying', $2, $3::timestamptz, 1, $4::uuid, $5, $6, $7::timestamptz)
  returning ${COLUMNS}`

/** A new request, verifying the code just sent. */
export async function insertVerifying(
  db: Db,
  v: {
    identityId: string
    codeHash: string
    codeExpiresAt: Date
    sessionId: string | null
    ip: string | null
    userAgent: string | null
    now: Date
  },
): Promise<RecoveryRow> {
  const [row] = await rawQuery<Record<string, unknown>>(db, INSERT, [
    v.identityId,
    v.codeHash,
    iso(v.codeExpiresAt),
    v.sessionId,
    v.ip,
    v.userAgent,
    iso(v.now),
  ])
  return rowOf(row!)
}

const NEW_CODE = `update recovery_requests
  set code_hash = $2, code_expires_at = $3::timestamptz, code_attempts = 0,
      codes_sent = case when $5::boolean then 1 else codes_sent + 1 end,
      created_at = case when $5::boolean then $6::timestamptz else created_at end,
      session_id = $4::uuid, ip = $7, user_agent = $8
  where id = $1::uuid and status = 'verifying' returning ${COLUMNS}`

/** Another code for a request still verifying (`restart`: the count of codes sent starts over). */
export async function replaceCode(
  db: Db,
  v: {
    id: string
    codeHash: string
    codeExpiresAt: Date
    sessionId: string | null
    restart: boolean
    now: Date
    ip: string | null
    userAgent: string | null
  },
): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, NEW_CODE, [
    v.id,
    v.codeHash,
    iso(v.codeExpiresAt),
    v.sessionId,
    v.restart,
    iso(v.now),
    v.ip,
    v.userAgent,
  ])
  return row ? rowOf(row) : null
}

const FAILED_ATTEMPT = `update recovery_requests set code_attempts = code_attempts + 1,
  code_hash = case when code_attempts + 1 >= $2 then null else code_hash end
  where id = $1::uuid returning code_attempts`

/** Counts a wrong code; after `max` of them the code no longer works. */
export async function countFailedAttempt(db: Db, id: string, max: number): Promise<number> {
  const [row] = await rawQuery<{ code_attempts: number }>(db, FAILED_ATTEMPT, [id, max])
  return Number(row?.code_attempts ?? max)
}

const OPEN = `update recovery_requests
  set status = 'open', reason = $2, code_hash = null, code_expires_at = null,
      submitted_at = $3::timestamptz, expires_at = $4::timestamptz, session_id = $5::uuid,
      ip = $6, user_agent = $7
  where id = $1::uuid and status = 'verifying' returning ${COLUMNS}`

/** The code was right: the request is open for admins until `expiresAt`. */
export async function openRequest(
  db: Db,
  v: {
    id: string
    reason: string
    now: Date
    expiresAt: Date
    sessionId: string | null
    ip: string | null
    userAgent: string | null
  },
): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, OPEN, [
    v.id,
    v.reason,
    iso(v.now),
    iso(v.expiresAt),
    v.sessionId,
    v.ip,
    v.userAgent,
  ])
  return row ? rowOf(row) : null
}

const ADD_APPROVAL = `update recovery_requests
  set approvals = approvals || jsonb_build_array(jsonb_build_object('admin_id', $2::text, 'at', $3::text))
  where id = $1::uuid and status = 'open' and jsonb_array_length(approvals) = $4
  returning ${COLUMNS}`

/** Adds an approval when the request is still open with `had` approvals; null otherwise. */
export async function addApproval(
  db: Db,
  v: { id: string; adminId: string; now: Date; had: number },
): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, ADD_APPROVAL, [
    v.id,
    v.adminId,
    iso(v.now),
    v.had,
  ])
  return row ? rowOf(row) : null
}

const DECIDE = `update recovery_requests
  set status = $2, decided_at = $3::timestamptz, decided_by = $4::uuid, decision_note = $5
  where id = $1::uuid and status = 'open' returning ${COLUMNS}`

/** Closes an open request (`approved`, `denied`); null when it was no longer open. */
export async function decideRequest(
  db: Db,
  v: {
    id: string
    status: "approved" | "denied"
    now: Date
    by: string
    note: string | null
  },
): Promise<RecoveryRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, DECIDE, [
    v.id,
    v.status,
    iso(v.now),
    v.by,
    v.note,
  ])
  return row ? rowOf(row) : null
}

const EXPIRE = `update recovery_requests set status = 'expired', decided_at = expires_at
  where status = 'open' and expires_at <= $1::timestamptz returning ${COLUMNS}`

/** Every open request past its expiry, now `expired`. */
export async function expireOverdue(db: Db, now: Date): Promise<RecoveryRow[]> {
  const rows = await rawQuery<Record<string, unknown>>(db, EXPIRE, [iso(now)])
  return rows.map(rowOf)
}

const LIST = `select ${COLUMNS} from recovery_requests r
  where ($1::text is null and status <> 'verifying') or status = $1
  order by r.submitted_at desc nulls last, r.id limit $2`

/** Requests past verifying, newest first (or those of one status). */
export async function listRequests(
  db: Db,
  v: { status: RecoveryStatus | null; limit: number },
): Promise<RecoveryRow[]> {
  const rows = await rawQuery<Record<string, unknown>>(db, LIST, [v.status, v.limit])
  return rows.map(rowOf)
}

const COUNT_SINCE = `select count(*)::int as n from recovery_requests
  where identity_id = $1::uuid and status <> 'verifying' and submitted_at >= $2::timestamptz`

/** How many requests this person sent since `since` (an admin sees repeated asks). */
export async function countSubmittedSince(db: Db, identityId: string, since: Date) {
  const [row] = await rawQuery<{ n: number }>(db, COUNT_SINCE, [identityId, iso(since)])
  return Number(row?.n ?? 0)
}

import { createHash, randomUUID } from "node:crypto"
import { asc, eq, gt } from "drizzle-orm"
import { PgTransaction } from "drizzle-orm/pg-core"
import type { Database, Db } from "../../db/client"
import { rawQuery, type Statement } from "../../db/raw"
import { auditEvents } from "../../db/schema"

export const auditEventNames = [
  "auth.registered",
  "auth.login",
  "auth.password_changed",
  "auth.2fa_enabled",
  "auth.2fa_disabled",
  "auth.2fa_recovery_codes_regenerated",
  "auth.webauthn_added",
  "auth.webauthn_removed",
  "auth.passkey_added",
  "auth.passkey_removed",
  "auth.recovery_code_used",
  "auth.profile_updated",
  "auth.session_revoked",
  "auth.force_password_change_required",
  "auth.force_password_change_cleared",
  "policy.updated",
  "admin.role_changed",
  "admin.manager_changed",
  "admin.2fa_reset",
  "admin.sessions_revoked",
  "admin.user_deactivated",
  "admin.user_reactivated",
  "admin.user_provisioned",
  "admin.user_viewed",
  "admin.viewed",
  "admin.audit_exported",
  "system.authorization_repaired",
] as const
export type AuditEventName = (typeof auditEventNames)[number]

export const auditActorTypes = ["user", "admin", "system"] as const
export type AuditActorType = (typeof auditActorTypes)[number]

export interface AuditEntryInput {
  event: AuditEventName
  actorType: AuditActorType
  actorId: string | null
  subjectId: string | null
  ip?: string | null
  userAgent?: string | null
  flowId?: string | null
  requestId?: string | null
  /** Security posture after the change: 2FA methods, AAL, flags. */
  posture: Record<string, unknown>
  details?: Record<string, unknown>
  /** Natural key of the change (e.g. flow id + event): a replayed delivery adds nothing. */
  dedupKey: string
  occurredAt?: Date
}

/**
 * What the hash covers: every column of an entry except the storage-assigned `id` and the
 * chain columns themselves (`prev_hash` is chained in front; `hash` is the result).
 */
export interface AuditHashContent {
  eventId: string
  dedupKey: string | null
  event: string
  /** ISO 8601 with milliseconds, as `Date.prototype.toISOString` writes it. */
  occurredAt: string
  actorType: string
  actorId: string | null
  subjectId: string | null
  ip: string | null
  userAgent: string | null
  flowId: string | null
  requestId: string | null
  posture: unknown
  details: unknown
}

/** Any fixed bigint will do; it only has to be the same for every writer of the chain. */
const CHAIN_LOCK_KEY = "7019463830264553"

/**
 * JSON with object keys sorted at every depth, so the same value gives the same bytes whatever
 * order its keys came in (jsonb hands them back in its own order).
 *
 * The value is first normalised the way `JSON.stringify` does (toJSON, undefined dropped, NaN
 * to null), which is also what a jsonb column stores and returns.
 */
export function canonicalJson(value: unknown): string {
  const normalised: unknown = value === undefined ? null : JSON.parse(JSON.stringify(value))
  return sortedStringify(normalised)
}

function sortedStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(",")}]`
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>
    const members = Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedStringify(obj[k])}`)
    return `{${members.join(",")}}`
  }
  return JSON.stringify(value)
}

/** sha256 (hex) of the previous entry's hash followed by this entry's canonical content. */
export function auditHash(prevHash: string | null, content: AuditHashContent): string {
  return createHash("sha256")
    .update(prevHash ?? "")
    .update(canonicalJson(content))
    .digest("hex")
}

/**
 * Appends one entry to the audit chain, or finds the entry already written for `dedupKey`.
 *
 * Call it inside the transaction that commits the change it records (and that enqueues its
 * notifications), so the entry exists exactly when the change does. It runs in the caller's
 * transaction (or in a transaction of its own on a plain handle) and takes a transaction-level
 * advisory lock that serialises every chain writer until
 * the caller commits: without it two writers could both link to the same predecessor.
 *
 * Requires READ COMMITTED (Postgres's default): under a snapshot isolation level the newest
 * entry committed while waiting for the lock would be invisible and the chain would fork.
 */
export async function appendAudit(
  db: Db,
  entry: AuditEntryInput,
): Promise<{ inserted: boolean; eventId: string; id: number }> {
  // Inside the caller's transaction no savepoint is needed (a failure aborts it whole), and
  // its RELEASE would be one more round trip under the lock.
  const isTransaction = (x: Db) => (x as unknown) instanceof PgTransaction
  const inTransaction = <T>(work: (tx: Db) => Promise<T>) =>
    isTransaction(db) ? work(db) : db.transaction(work)
  return inTransaction(async (tx) => {
    // Two statements sent together (one round trip; the lock is held until the caller commits,
    // so every round trip made under it is one that every other writer waits for). Postgres
    // runs them in order: the insert starts, and takes its snapshot, only once the lock is
    // granted, so it reads the newest hash with every earlier writer committed, and links to
    // it, hashing in SQL exactly as auditHash does.
    const { statements } = appendStatements(entry)
    const [[lockText], [appendText, appendValues]] = statements
    const [lock, result] = await Promise.all([
      rawQuery<{ isolation: string }>(tx, lockText),
      rawQuery<{ id: number | string; event_id: string }>(tx, appendText, appendValues),
    ])
    checkChainLock(lock)
    const [row] = result
    if (row) return { inserted: true, id: Number(row.id), eventId: row.event_id }
    // A replay: the entry was written before (by an earlier delivery or another replica).
    const existing = await findByDedupKey(tx, entry.dedupKey)
    return { inserted: false, ...existing! }
  })
}

async function findByDedupKey(
  db: Db,
  dedupKey: string,
): Promise<{ id: number; eventId: string } | undefined> {
  const [row] = await db
    .select({ id: auditEvents.id, eventId: auditEvents.eventId })
    .from(auditEvents)
    .where(eq(auditEvents.dedupKey, dedupKey))
  return row
}

/**
 * The append, hashing in SQL exactly as auditHash does: links to the newest entry, which the
 * statement reads once the chain lock (sent just before it) is granted.
 */
const APPEND = `
  insert into audit_events
    (event_id, dedup_key, event, occurred_at, actor_type, actor_id, subject_id, ip,
     user_agent, flow_id, request_id, posture, details, prev_hash, hash)
  select $1::uuid, $2, $3, $4::timestamptz, $5, $6, $7::uuid, $8, $9, $10::uuid, $11,
         $12::jsonb, $13::jsonb, last.hash,
         encode(sha256(convert_to(coalesce(last.hash, '') || $14::text, 'UTF8')), 'hex')
    from (select (select hash from audit_events order by id desc limit 1) as hash) as last
  on conflict (dedup_key) do nothing
  returning id, event_id`

const LOCK_CHAIN = `select pg_advisory_xact_lock(${CHAIN_LOCK_KEY}) as locked,
  current_setting('transaction_isolation') as isolation`

/**
 * The two statements of an append, to send together in one transaction (see appendAudit;
 * `atomic` in db/raw.ts sends a whole transaction at once): the chain lock, then the insert.
 * Check the lock's rows with checkChainLock.
 */
export function appendStatements(entry: AuditEntryInput): {
  eventId: string
  statements: [Statement, Statement]
} {
  const content = toHashContent(entry)
  return {
    eventId: content.eventId,
    statements: [
      [LOCK_CHAIN, []],
      [
        APPEND,
        [
          content.eventId,
          content.dedupKey,
          content.event,
          content.occurredAt,
          content.actorType,
          content.actorId,
          content.subjectId,
          content.ip,
          content.userAgent,
          content.flowId,
          content.requestId,
          JSON.stringify(content.posture),
          JSON.stringify(content.details),
          canonicalJson(content),
        ],
      ],
    ],
  }
}

/** The chain lock's answer: it was taken under READ COMMITTED, or this throws. */
export function checkChainLock(rows: unknown[]): void {
  const isolation = (rows[0] as { isolation?: string } | undefined)?.isolation
  if (isolation !== "read committed") {
    throw new Error(`appendAudit needs READ COMMITTED isolation, not ${isolation ?? "unknown"}`)
  }
}

/**
 * The entry as the database will hand it back: uuids in their canonical lower-case form,
 * absent optionals as null, JSON as jsonb stores it. Hashing anything else would make a
 * sound entry fail verification.
 */
function toHashContent(entry: AuditEntryInput): AuditHashContent {
  return {
    eventId: randomUUID(),
    dedupKey: entry.dedupKey,
    event: entry.event,
    occurredAt: (entry.occurredAt ?? new Date()).toISOString(),
    actorType: entry.actorType,
    actorId: entry.actorId,
    subjectId: canonicalUuid(entry.subjectId),
    ip: entry.ip ?? null,
    userAgent: entry.userAgent ?? null,
    flowId: canonicalUuid(entry.flowId ?? null),
    requestId: entry.requestId ?? null,
    posture: jsonRoundTrip(entry.posture),
    details: jsonRoundTrip(entry.details ?? {}),
  }
}

function canonicalUuid(value: string | null): string | null {
  if (value === null) return null
  const hex = value.replace(/[{}-]/g, "").toLowerCase()
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new TypeError(`not a uuid: ${JSON.stringify(value)}`)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function jsonRoundTrip(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>
}

type AuditRow = typeof auditEvents.$inferSelect

function rowHashContent(row: AuditRow): AuditHashContent {
  return {
    eventId: row.eventId,
    dedupKey: row.dedupKey,
    event: row.event,
    occurredAt: row.occurredAt.toISOString(),
    actorType: row.actorType,
    actorId: row.actorId,
    subjectId: row.subjectId,
    ip: row.ip,
    userAgent: row.userAgent,
    flowId: row.flowId,
    requestId: row.requestId,
    posture: row.posture,
    details: row.details,
  }
}

export interface AuditChainReport {
  ok: boolean
  /** Entries found intact, in id order, before the first broken one (all of them when ok). */
  checked: number
  brokenAt?: { id: number; reason: string }
}

/**
 * Recomputes every entry's hash and checks that each links to the entry before it, in id order
 * and in batches (keyset pagination), so memory stays flat however long the trail grows.
 *
 * Detects an altered entry, and a removed or inserted one anywhere but at the very end:
 * removing the newest entries leaves a shorter chain that is still sound.
 */
export async function verifyAuditChain(
  database: Database,
  opts: { batchSize?: number } = {},
): Promise<AuditChainReport> {
  const batchSize = opts.batchSize ?? 1000
  let checked = 0
  let prevHash: string | null = null
  let lastId = 0
  for (;;) {
    const rows = await database.db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.id, lastId))
      .orderBy(asc(auditEvents.id))
      .limit(batchSize)
    for (const row of rows) {
      const reason = brokenReason(row, prevHash)
      if (reason) return { ok: false, checked, brokenAt: { id: row.id, reason } }
      prevHash = row.hash
      checked++
    }
    if (rows.length < batchSize) return { ok: true, checked }
    lastId = rows[rows.length - 1]!.id
  }
}

function brokenReason(row: AuditRow, expectedPrev: string | null): string | null {
  if (row.hash === null) return "hash missing"
  if (row.prevHash !== expectedPrev) return "prev_hash does not match the previous entry"
  if (row.hash !== auditHash(row.prevHash, rowHashContent(row))) return "hash mismatch"
  return null
}

import { createHash, randomUUID } from "node:crypto"
import { and, asc, eq, gt, isNull } from "drizzle-orm"
import type { Database, Db, Tx } from "../../db/client"
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
  "auth.api_key_created",
  "auth.api_key_revoked",
  "auth.api_keys_revoked",
  "auth.recovery_request_code_sent",
  "auth.recovery_requested",
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
  "admin.api_key_created",
  "admin.api_key_revoked",
  "admin.recovery_request_first_approval",
  "admin.recovery_request_approved",
  "admin.recovery_request_denied",
  "system.authorization_repaired",
  "system.recovery_request_expired",
  "auth.notification_settings_changed",
  "admin.event_subscriber_created",
  "admin.event_subscriber_updated",
  "admin.event_subscriber_deleted",
  "admin.event_subscriber_secret_rotated",
  "admin.event_replay_requested",
  "admin.event_delivery_retried",
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

/** The audit fields of a change a person makes to their own account (they are actor and subject). */
export function ownChange(actor: {
  id: string
  ip: string | null
  userAgent: string | null
  requestId: string
}): Pick<
  AuditEntryInput,
  "actorType" | "actorId" | "subjectId" | "ip" | "userAgent" | "requestId"
> {
  return {
    actorType: "user",
    actorId: actor.id,
    subjectId: actor.id,
    ip: actor.ip,
    userAgent: actor.userAgent,
    requestId: actor.requestId,
  }
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

/** Any fixed bigint will do; it only has to be the same for every sealer of the chain. */
const SEALER_LOCK_KEY = "7019463830264554"

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
 * Appends one entry to the audit trail, or finds the entry already written for `dedupKey`.
 *
 * Call it inside the transaction that commits the change it records (and that enqueues its
 * notifications), so the entry exists exactly when the change does; `appendAuditAlone` is
 * for an entry that records no write of its own (a look). The entry is inserted unsealed,
 * without any lock shared by other writers: the sealer (sealAudit) gives it its place in the
 * hash chain shortly after it commits.
 *
 * Requires READ COMMITTED (Postgres's default): after a conflicting insert by another
 * transaction, the entry that one wrote must be visible to the lookup that follows.
 */
export async function appendAudit(
  tx: Tx,
  entry: AuditEntryInput,
): Promise<{ inserted: boolean; eventId: string; id: number }> {
  // The isolation check and the insert, sent together (one round trip).
  const { statements } = appendStatements(entry)
  const [[checkText], [appendText, appendValues]] = statements
  const [check, result] = await Promise.all([
    rawQuery<{ isolation: string }>(tx, checkText),
    rawQuery<{ id: number | string; event_id: string }>(tx, appendText, appendValues),
  ])
  checkChainLock(check)
  const [row] = result
  if (row) return { inserted: true, id: Number(row.id), eventId: row.event_id }
  // A replay: the entry was written before (by an earlier delivery or another replica).
  const existing = await findByDedupKey(tx, entry.dedupKey)
  return { inserted: false, ...existing! }
}

/** One entry in a transaction of its own. */
export function appendAuditAlone(db: Db, entry: AuditEntryInput) {
  return db.transaction((tx) => appendAudit(tx, entry))
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

/** The append: the entry unsealed (no place in the chain, no hashes yet). */
const APPEND = `
  insert into audit_events
    (event_id, dedup_key, event, occurred_at, actor_type, actor_id, subject_id, ip,
     user_agent, flow_id, request_id, posture, details)
  values ($1::uuid, $2, $3, $4::timestamptz, $5, $6, $7::uuid, $8, $9, $10::uuid, $11,
          $12::jsonb, $13::jsonb)
  on conflict (dedup_key) do nothing
  returning id, event_id`

const CHECK_ISOLATION = `select current_setting('transaction_isolation') as isolation`

/**
 * The two statements of an append, to send together in one transaction (see appendAudit;
 * `atomic` in db/raw.ts sends a whole transaction at once): the isolation check, then the
 * insert. Check the first one's rows with checkChainLock.
 */
export function appendStatements(entry: AuditEntryInput): {
  eventId: string
  statements: [Statement, Statement]
} {
  const content = toHashContent(entry)
  return {
    eventId: content.eventId,
    statements: [
      [CHECK_ISOLATION, []],
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
        ],
      ],
    ],
  }
}

/**
 * The first statement's answer: the append ran under READ COMMITTED, or this throws. (Named
 * for the chain lock appends took before the sealer; none is taken now.)
 */
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

/** Entries the sealer takes per transaction. */
export const SEAL_BATCH = 500

/** How often every replica's sealer looks for unsealed entries (AUDIT_SEAL_INTERVAL_MS). */
export const SEAL_INTERVAL_MS = 100

const LAST_SEALED = `select seq, hash from audit_events where seq is not null order by seq desc limit 1`
/** One probe of the unsealed entries' partial index: an idle round costs this statement alone. */
const ANY_UNSEALED = `select exists (select 1 from audit_events where seq is null and hash is null) as any`

const SEAL = `
  update audit_events e set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
    from jsonb_to_recordset($1::jsonb) as v(id bigint, seq bigint, prev_hash text, hash text)
   where e.id = v.id and e.seq is null
  returning e.id`

/**
 * Gives unsealed entries their place in the hash chain, oldest id first, in batches of
 * `batchSize` (one transaction each): each links to the entry sealed just before it, and its
 * hash covers that entry's hash and its own content as the database stores it.
 *
 * One sealer at a time, by a transaction-level advisory lock: when another holds it this
 * returns at once (`busy`), unless `wait` (then it waits its turn, e.g. to seal everything
 * committed so far). Any replica may seal; the unique `seq` and the `seq is null` guard make a
 * second sealer that slipped past the lock fail rather than fork the chain. An entry whose
 * transaction has not committed yet is left for the next round.
 */
export async function sealAudit(
  database: Database,
  opts: { batchSize?: number; wait?: boolean } = {},
): Promise<{ sealed: number; busy: boolean }> {
  const batchSize = opts.batchSize ?? SEAL_BATCH
  const lock = opts.wait
    ? `select true as got from (select pg_advisory_xact_lock(${SEALER_LOCK_KEY})) as waited`
    : `select pg_try_advisory_xact_lock(${SEALER_LOCK_KEY}) as got`
  let sealed = 0
  // Most rounds find nothing: then no transaction, lock or chain read (an entry committed
  // after this look is the next round's).
  const [probe] = await rawQuery<{ any: boolean }>(database.db, ANY_UNSEALED)
  if (!probe?.any) return { sealed, busy: false }
  for (;;) {
    const batch = await database.db.transaction(async (tx) => {
      const [held] = await rawQuery<{ got: boolean }>(tx, lock)
      if (!held?.got && !opts.wait) return null
      // The seal commits durably like any write (one flush per batch): a seal that a reader,
      // an export or a SIEM has seen is never lost in a crash and given another order.
      const [last] = await rawQuery<{ seq: number | string; hash: string | null }>(tx, LAST_SEALED)
      const rows = await tx
        .select()
        .from(auditEvents)
        // An entry with hashes but no place was unsealed by hand (bypassing the trigger): it is
        // not sealed again (verify reports the gap it left and counts it as unsealed).
        .where(and(isNull(auditEvents.seq), isNull(auditEvents.hash)))
        .orderBy(asc(auditEvents.id))
        .limit(batchSize)
      if (rows.length === 0) return 0
      let seq = last ? Number(last.seq) : 0
      let prevHash = last?.hash ?? null
      const seals = rows.map((row) => {
        const hash = auditHash(prevHash, rowHashContent(row))
        const seal = { id: row.id, seq: ++seq, prev_hash: prevHash, hash }
        prevHash = hash
        return seal
      })
      const done = await rawQuery<{ id: number }>(tx, SEAL, [JSON.stringify(seals)])
      if (done.length !== seals.length) {
        throw new Error(`audit sealer: ${seals.length - done.length} entries sealed meanwhile`)
      }
      return rows.length
    })
    if (batch === null) return { sealed, busy: true }
    sealed += batch
    if (batch < batchSize) return { sealed, busy: false }
  }
}

/**
 * Runs sealAudit every `intervalMs` (and again at once while it finds full batches), until
 * stopped; a failed round is logged and the next one tries again.
 */
export function startAuditSealer(opts: {
  database: Database
  log: { warn(obj: object, msg: string): void }
  intervalMs?: number
  /** After a round that sealed entries (e.g. to wake what sends sealed entries on). */
  onSealed?: () => void
}): { stop(): Promise<void> } {
  const intervalMs = opts.intervalMs ?? SEAL_INTERVAL_MS
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  let round: Promise<void> = Promise.resolve()
  const tick = () => {
    round = sealAudit(opts.database)
      .then(({ sealed }) => {
        if (sealed > 0) opts.onSealed?.()
      })
      .catch((err: unknown) => opts.log.warn({ err }, "sealing audit entries failed"))
      .then(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs)
      })
  }
  tick()
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await round
    },
  }
}

export interface AuditChainReport {
  ok: boolean
  /** Sealed entries found intact, in chain order, before the first broken one (all when ok). */
  checked: number
  brokenAt?: { id: number; reason: string }
  /**
   * Entries recorded but not sealed yet (not in the chain, so not checked): present only when
   * there are some. The oldest is the one waiting longest.
   */
  unsealed?: { count: number; oldestId: number; oldestAt: string }
}

/**
 * Recomputes every sealed entry's hash and checks that each links to the entry before it, in
 * chain order (`seq`) and in batches (keyset pagination), so memory stays flat however long
 * the trail grows; then counts the entries still unsealed, which it reports apart.
 *
 * Detects an altered sealed entry, and a removed or inserted one anywhere but at the very end:
 * removing the newest entries leaves a shorter chain that is still sound. An entry is covered
 * from its seal on (see sealAudit for how soon that is).
 */
export async function verifyAuditChain(
  database: Database,
  opts: { batchSize?: number } = {},
): Promise<AuditChainReport> {
  const batchSize = opts.batchSize ?? 1000
  let checked = 0
  let prevHash: string | null = null
  let lastSeq = Number.MIN_SAFE_INTEGER
  let brokenAt: AuditChainReport["brokenAt"]
  walk: for (;;) {
    const rows = await database.db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.seq, lastSeq))
      .orderBy(asc(auditEvents.seq))
      .limit(batchSize)
    for (const row of rows) {
      const reason = brokenReason(row, prevHash)
      if (reason) {
        brokenAt = { id: row.id, reason }
        break walk
      }
      prevHash = row.hash
      checked++
    }
    if (rows.length < batchSize) break
    lastSeq = rows[rows.length - 1]!.seq!
  }
  const report: AuditChainReport = brokenAt
    ? { ok: false, checked, brokenAt }
    : { ok: true, checked }
  const [waiting] = await rawQuery<{ n: number | string; id: number | string | null; at: string }>(
    database.db,
    `select count(*) as n, min(id) as id, to_json(min(occurred_at)) #>> '{}' as at
       from audit_events where seq is null`,
  )
  const count = Number(waiting?.n ?? 0)
  if (count > 0) report.unsealed = { count, oldestId: Number(waiting!.id), oldestAt: waiting!.at }
  return report
}

function brokenReason(row: AuditRow, expectedPrev: string | null): string | null {
  if (row.hash === null) return "hash missing"
  if (row.prevHash !== expectedPrev) return "prev_hash does not match the previous entry"
  if (row.hash !== auditHash(row.prevHash, rowHashContent(row))) return "hash mismatch"
  return null
}

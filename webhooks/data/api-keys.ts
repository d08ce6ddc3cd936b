import { RateLimiterPostgres } from "rate-limiter-flexible"
import type { Database, Db, Tx } from "../../db/client"
import { rawQuery, type Statement } from "../../db/raw"

export type { Statement }
import { counter } from "./rate-limits"

/**
 * `api_keys`: one row per key, the secret kept only as its SHA-256. Every function takes the
 * handle to run on first (the pool or a transaction).
 */
export interface ApiKeyRow {
  id: string
  keyId: string
  identityId: string
  label: string
  scope: string
  secretHash: string
  createdAt: Date
  createdBy: string
  expiresAt: Date | null
  lastUsedAt: Date | null
  lastUsedIp: string | null
  revokedAt: Date | null
  revokedReason: string | null
  revokedBy: string | null
}

const date = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v))

function rowOf(r: Record<string, unknown>): ApiKeyRow {
  return {
    id: r.id as string,
    keyId: r.key_id as string,
    identityId: r.identity_id as string,
    label: r.label as string,
    scope: r.scope as string,
    secretHash: r.secret_hash as string,
    createdAt: date(r.created_at)!,
    createdBy: r.created_by as string,
    expiresAt: date(r.expires_at),
    lastUsedAt: date(r.last_used_at),
    lastUsedIp: (r.last_used_ip as string | null) ?? null,
    revokedAt: date(r.revoked_at),
    revokedReason: (r.revoked_reason as string | null) ?? null,
    revokedBy: (r.revoked_by as string | null) ?? null,
  }
}

// Timestamps as ISO text (to_json) so both drivers hand back the same thing.
const COLUMNS = `id, key_id, identity_id, label, scope, secret_hash,
  to_json(created_at) as created_at, created_by, to_json(expires_at) as expires_at,
  to_json(last_used_at) as last_used_at, last_used_ip, to_json(revoked_at) as revoked_at,
  revoked_reason, revoked_by`

/** Serialises key creation per person, so two at once can't both slip under the cap. */
const LOCK_OWNER = `select pg_advisory_xact_lock(hashtextextended('kg-api-keys:' || $1, 0))`

export async function lockOwnerKeys(tx: Tx, identityId: string): Promise<void> {
  await rawQuery(tx, LOCK_OWNER, [identityId])
}

const OWNER_FOR_SHARE = `select role, state from identity_authz where identity_id = $1::uuid for share`

/** The owner's role and state, the row held (FOR SHARE) until the transaction ends. */
export async function ownerForShare(tx: Tx, identityId: string) {
  const [row] = await rawQuery<{ role: string; state: string }>(tx, OWNER_FOR_SHARE, [identityId])
  return row ?? null
}

const COUNT_ACTIVE = `select count(*)::int as n from api_keys
  where identity_id = $1::uuid and revoked_at is null and (expires_at is null or expires_at > now())`

export async function countActiveKeys(db: Db, identityId: string): Promise<number> {
  const [row] = await rawQuery<{ n: number }>(db, COUNT_ACTIVE, [identityId])
  return Number(row?.n ?? 0)
}

const INSERT = `insert into api_keys
  (key_id, identity_id, label, scope, secret_hash, created_by, expires_at)
  values ($1, $2::uuid, $3, $4, $5, $6::uuid, $7::timestamptz)
  returning ${COLUMNS}`

export async function insertApiKey(
  db: Db,
  v: {
    keyId: string
    identityId: string
    label: string
    scope: string
    secretHash: string
    createdBy: string
    expiresAt: Date | null
  },
): Promise<ApiKeyRow> {
  const [row] = await rawQuery<Record<string, unknown>>(db, INSERT, [
    v.keyId,
    v.identityId,
    v.label,
    v.scope,
    v.secretHash,
    v.createdBy,
    v.expiresAt?.toISOString() ?? null,
  ])
  return rowOf(row!)
}

const LIST = `select ${COLUMNS} from api_keys k where identity_id = $1::uuid
  order by k.created_at desc, k.id limit $2`

/** A person's keys, newest first: active ones and those that ended, for the record. */
export async function listApiKeys(db: Db, identityId: string, limit = 100): Promise<ApiKeyRow[]> {
  const rows = await rawQuery<Record<string, unknown>>(db, LIST, [identityId, limit])
  return rows.map(rowOf)
}

const BY_KEY_ID = `select ${COLUMNS} from api_keys where key_id = $1`

export async function findByKeyId(db: Db, keyId: string): Promise<ApiKeyRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, BY_KEY_ID, [keyId])
  return row ? rowOf(row) : null
}

const REVOKE_ONE = `update api_keys set revoked_at = now(), revoked_reason = $3, revoked_by = $4::uuid
  where id = $1::uuid and identity_id = $2::uuid and revoked_at is null
  returning ${COLUMNS}`

/** Revokes one key of this person; null when it is not theirs or already revoked. */
export async function revokeApiKey(
  db: Db,
  v: { id: string; identityId: string; reason: string; by: string | null },
): Promise<ApiKeyRow | null> {
  const [row] = await rawQuery<Record<string, unknown>>(db, REVOKE_ONE, [
    v.id,
    v.identityId,
    v.reason,
    v.by,
  ])
  return row ? rowOf(row) : null
}

const BY_ID = `select ${COLUMNS} from api_keys where id = $1::uuid and identity_id = $2::uuid`

export async function findApiKey(db: Db, id: string, identityId: string) {
  const [row] = await rawQuery<Record<string, unknown>>(db, BY_ID, [id, identityId])
  return row ? rowOf(row) : null
}

const REVOKE_ALL = `update api_keys set revoked_at = now(), revoked_reason = $2, revoked_by = $3::uuid
  where identity_id = $1::uuid and revoked_at is null
  returning ${COLUMNS}`

/** Revokes every key of this person still in force (expired ones too: they end for good). */
export async function revokeAllApiKeys(
  db: Db,
  v: { identityId: string; reason: string; by: string | null },
): Promise<ApiKeyRow[]> {
  const rows = await rawQuery<Record<string, unknown>>(db, REVOKE_ALL, [
    v.identityId,
    v.reason,
    v.by,
  ])
  return rows.map(rowOf)
}

const ACTIVE_IDS = `select id, key_id from api_keys where identity_id = $1::uuid and revoked_at is null`

/** The ids (row and public) of this person's keys not yet revoked. */
export async function unrevokedKeyIds(
  db: Db,
  identityId: string,
): Promise<{ id: string; keyId: string }[]> {
  const rows = await rawQuery<{ id: string; key_id: string }>(db, ACTIVE_IDS, [identityId])
  return rows.map((r) => ({ id: r.id, keyId: r.key_id }))
}

/** REVOKE_ALL as one statement of `atomic` (db/raw.ts), beside the change that causes it. */
export function revokeAllApiKeysStatement(v: {
  identityId: string
  reason: string
  by: string | null
}): Statement {
  return [REVOKE_ALL, [v.identityId, v.reason, v.by]]
}

// Written at most once a minute per key (or when the address changes): the gate reads a key
// on every call and would otherwise write on every call too.
const TOUCH = `update api_keys set last_used_at = now(), last_used_ip = $2
  where id = $1::uuid and (last_used_at is null or last_used_at < now() - interval '60 seconds'
    or last_used_ip is distinct from $2)`

export async function touchApiKey(db: Db, id: string, ip: string | null): Promise<void> {
  await rawQuery(db, TOUCH, [id, ip])
}

/** A counter in `rate_limits` (rate-limiter-flexible's Postgres store, shared by replicas). */
export function apiKeyCounter(
  database: Database,
  opts: { prefix: string; points: number; seconds: number },
): RateLimiterPostgres {
  return counter(database, { ...opts, sweepsExpired: false })
}

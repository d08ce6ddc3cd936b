import { eq, getTableColumns, inArray, sql } from "drizzle-orm"
import type { Db, Tx } from "../../db/client"
import { dateOrNull, rawQuery, type Statement } from "../../db/raw"
import { identityAuthz } from "../../db/schema"
import type { Query } from "./transaction"

/**
 * `identity_authz`: the service's record of a person's role, manager, forced password change
 * and state, with the lease a settings submit holds while Kratos persists it. Every function
 * takes the handle to run on first: the pool, a transaction, or a pipelined transaction's
 * `query` (see ./transaction.ts).
 */
export type Authorization = typeof identityAuthz.$inferSelect
export type NewAuthorization = typeof identityAuthz.$inferInsert
export type AuthorizationChange = Partial<NewAuthorization>

/** An `identity_authz` row as `row_to_json` writes it, as drizzle would map it. */
export function authzFromJson(r: Record<string, unknown>): Authorization {
  const text = (k: string) => (typeof r[k] === "string" ? (r[k] as string) : null)
  return {
    identityId: r.identity_id as string,
    role: r.role as string,
    roleAssignedAt: dateOrNull(r.role_assigned_at),
    managerId: text("manager_id"),
    forceRequired: r.force_required === true,
    forceSetAt: dateOrNull(r.force_set_at),
    forceSetBy: text("force_set_by"),
    forceClearedAt: dateOrNull(r.force_cleared_at),
    forceFingerprint: text("force_fingerprint"),
    state: r.state as string,
    stateChangedAt: dateOrNull(r.state_changed_at),
    version: Number(r.version),
    syncedVersion: r.synced_version === null ? null : Number(r.synced_version),
    syncedAt: dateOrNull(r.synced_at),
    origin: r.origin as string,
    updatedAt: dateOrNull(r.updated_at)!,
    updatedBy: text("updated_by"),
    writeFlowId: text("write_flow_id"),
    writeUntil: dateOrNull(r.write_until),
  }
}

const LOAD_AUTHZ = `select row_to_json(a) as authz from identity_authz a where a.identity_id = $1::uuid`

export async function loadAuthorization(db: Db, identityId: string) {
  const [row] = await rawQuery<{ authz: Record<string, unknown> }>(db, LOAD_AUTHZ, [identityId])
  return row ? authzFromJson(row.authz) : null
}

export async function loadAuthorizations(db: Db, ids: string[]) {
  if (ids.length === 0) return new Map<string, Authorization>()
  const rows = await db.select().from(identityAuthz).where(inArray(identityAuthz.identityId, ids))
  return new Map(rows.map((r) => [r.identityId, r]))
}

const INSERT_AUTHZ = `
  insert into identity_authz
    (identity_id, role, role_assigned_at, manager_id, force_required, force_set_at,
     force_set_by, force_cleared_at, force_fingerprint, state, version, origin, updated_by,
     synced_version, synced_at)
  values ($1::uuid, $2, $3::timestamptz, $4::uuid, $5::boolean, $6::timestamptz, $7,
          $8::timestamptz, $9, $10, $11::int, $12, $13, $14::int, $15::timestamptz)
  on conflict do nothing`

/** insertAuthorization's insert as one statement of `atomic` (./transaction.ts). */
export function insertAuthorizationStatement(v: NewAuthorization): Statement {
  const at = (d: Date | null | undefined) => (d ? d.toISOString() : null)
  return [
    INSERT_AUTHZ,
    [
      v.identityId,
      v.role,
      at(v.roleAssignedAt),
      v.managerId ?? null,
      v.forceRequired ?? false,
      at(v.forceSetAt),
      v.forceSetBy ?? null,
      at(v.forceClearedAt),
      v.forceFingerprint ?? null,
      v.state,
      v.version ?? 1,
      v.origin,
      v.updatedBy ?? null,
      v.syncedVersion ?? null,
      at(v.syncedAt),
    ],
  ]
}

/** Inserts a record unless the identity has one, and answers the identity's record. */
export async function insertAuthorization(db: Db, values: NewAuthorization) {
  await db.insert(identityAuthz).values(values).onConflictDoNothing()
  return (await loadAuthorization(db, values.identityId))!
}

/** Class of the per-identity advisory locks (the audit chain's lock is a single bigint key). */
const LOCK_CLASS = 70194638
const LOCK_IDENTITY = `select pg_advisory_xact_lock(${LOCK_CLASS}::int, hashtext($1::uuid::text))`

/** The identity's transaction-scoped lock: every service write of the identity holds it. */
export async function lockIdentity(tx: Tx, identityId: string): Promise<void> {
  await rawQuery(tx, LOCK_IDENTITY, [identityId])
}

/** `lockIdentity` in a pipelined transaction (sent with what is started beside it). */
export const lockIdentityIn = (query: Query, identityId: string) =>
  query(LOCK_IDENTITY, [identityId])

const withLease = {
  ...getTableColumns(identityAuthz),
  writing: sql<boolean>`coalesce(${identityAuthz.writeUntil} > now(), false)`,
}

/** The record and whether a settings submit's lease on it is running; undefined without one. */
export async function readWithLease(
  tx: Tx,
  identityId: string,
): Promise<(Authorization & { writing: boolean }) | undefined> {
  const [row] = await tx
    .select(withLease)
    .from(identityAuthz)
    .where(eq(identityAuthz.identityId, identityId))
  return row
}

/** The record, locked for update until the transaction ends. */
export async function readForUpdate(
  tx: Tx,
  identityId: string,
): Promise<Authorization | undefined> {
  const [row] = await tx
    .select()
    .from(identityAuthz)
    .where(eq(identityAuthz.identityId, identityId))
    .for("update")
  return row
}

/** Writes `set` as the record's next version and answers the record after it. */
export async function updateAuthorization(
  tx: Tx,
  identityId: string,
  set: AuthorizationChange,
  updatedBy: string | null,
): Promise<Authorization | undefined> {
  const [after] = await tx
    .update(identityAuthz)
    .set({ ...set, version: sql`${identityAuthz.version} + 1`, updatedAt: new Date(), updatedBy })
    .where(eq(identityAuthz.identityId, identityId))
    .returning()
  return after
}

/** Notes that Kratos holds the record's current version. */
export async function markSynced(tx: Tx, row: Authorization): Promise<void> {
  if (row.syncedVersion === row.version) return
  await tx
    .update(identityAuthz)
    .set({ syncedVersion: row.version, syncedAt: new Date() })
    .where(eq(identityAuthz.identityId, row.identityId))
}

/**
 * The record with its lease, and (when `passwordWindowSecs` is given) how many password
 * changes of the identity were pending or confirmed within that window: one statement.
 */
const SELECT_FOR_WRITE = `
  select row_to_json(a) as authz, coalesce(a.write_until > now(), false) as writing,
         case when $2::float8 is null then 0 else (
           select count(*)::int from pending_changes p
            where p.identity_id = $1::uuid and p.method = 'password'
              and p.status in ('pending', 'confirmed')
              and p.created_at > now() - make_interval(secs => $2::float8)) end as recent
    from (select 1) as one left join identity_authz a on a.identity_id = $1::uuid`

/** What a settings pre-persist call reads under the identity's lock (one row, always). */
export interface WriteRead {
  authz: Record<string, unknown> | null
  writing: boolean
  recent: number
}

/** SELECT_FOR_WRITE in a pipelined transaction; `windowSecs` null skips the count. */
export const readForWrite = (query: Query, identityId: string, windowSecs: number | null) =>
  query<WriteRead>(SELECT_FOR_WRITE, [identityId, windowSecs])

/** The insert of a seeded record in a pipelined transaction. */
export const insertAuthorizationIn = (query: Query, v: NewAuthorization) => {
  const [text, values] = insertAuthorizationStatement(v)
  return query(text, values)
}

const TAKE_LEASE = `
  update identity_authz
     set write_flow_id = $2::uuid, write_until = now() + make_interval(secs => $3::float8)
   where identity_id = $1::uuid`

/** The identity taken for a settings flow for `seconds` (a statement to send with COMMIT). */
export const takeLeaseStatement = (identityId: string, flowId: string, seconds: number) =>
  [TAKE_LEASE, [identityId, flowId, seconds]] as const satisfies Statement

const END_LEASE = `
  with ended as (
    update identity_authz set write_flow_id = null, write_until = null
     where identity_id = $1::uuid and write_flow_id = $2::uuid)
  select (select row_to_json(a) from identity_authz a where a.identity_id = $1::uuid) as authz`

/**
 * Clears the flow's lease and answers the record as it is now (one statement: the lease it
 * clears is not part of what it answers).
 */
export async function endLease(
  db: Db,
  identityId: string,
  flowId: string,
): Promise<Authorization | null> {
  const [row] = await rawQuery<{ authz: Record<string, unknown> | null }>(db, END_LEASE, [
    identityId,
    flowId,
  ])
  return row?.authz ? authzFromJson(row.authz) : null
}

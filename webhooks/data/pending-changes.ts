import { and, eq, lt } from "drizzle-orm"
import type { Db } from "../../db/client"
import { rawQuery, type Statement } from "../../db/raw"
import { pendingChanges } from "../../db/schema"

/**
 * `pending_changes`: a settings change the pre-persist hook allowed, until its post-persist
 * call (or the reconciler) confirms it or finds it abandoned.
 */
export type PendingChange = typeof pendingChanges.$inferSelect

export interface NewPendingChange {
  changeKey: string
  flowId: string
  method: string
  identityId: string
  intent: string
  before: unknown
  ip: string | null
  userAgent: string | null
  requestId: string
}

const INSERT_PENDING = `
  insert into pending_changes
    (change_key, flow_id, method, identity_id, intent, before, ip, user_agent, request_id)
  values ($1, $2::uuid, $3, $4::uuid, $5, $6::jsonb, $7, $8, $9)
  on conflict do nothing`

/** The pending record as a statement (one per change key: a retried delivery adds nothing). */
export function insertPendingStatement(p: NewPendingChange): Statement {
  return [
    INSERT_PENDING,
    [
      p.changeKey,
      p.flowId,
      p.method,
      p.identityId,
      p.intent,
      JSON.stringify(p.before),
      p.ip,
      p.userAgent,
      p.requestId,
    ],
  ]
}

/** The newest pending record of a flow's method, as the post-persist read answers it. */
export interface PendingJson {
  id: number | string
  before: unknown
}

const POST_PERSIST_READ = `
  select (select json_build_object('id', p.id, 'before', p.before) from pending_changes p
           where p.flow_id = $1::uuid and p.method = $2 and p.status = 'pending'
           order by p.id desc limit 1) as pending,
         (select row_to_json(a) from identity_authz a where a.identity_id = $3::uuid) as authz`

/**
 * The flow's pending record and the identity's `identity_authz` row (as `row_to_json`, for
 * data/authz.ts's authzFromJson) in one statement: the post-persist hook's only read.
 */
export async function pendingWithAuthz(
  db: Db,
  flowId: string,
  method: string,
  identityId: string,
): Promise<{ pending: PendingJson | null; authz: Record<string, unknown> | null } | undefined> {
  const [row] = await rawQuery<{
    pending: PendingJson | null
    authz: Record<string, unknown> | null
  }>(db, POST_PERSIST_READ, [flowId, method, identityId])
  return row
}

/** Pending records created before `before`, oldest first. */
export function stalePending(db: Db, before: Date, limit: number): Promise<PendingChange[]> {
  return db
    .select()
    .from(pendingChanges)
    .where(and(eq(pendingChanges.status, "pending"), lt(pendingChanges.createdAt, before)))
    .orderBy(pendingChanges.id)
    .limit(limit)
}

/** Marks a record abandoned, unless it was settled meanwhile. */
export async function abandonPending(db: Db, id: number): Promise<void> {
  await db
    .update(pendingChanges)
    .set({ status: "abandoned", resolvedAt: new Date() })
    .where(and(eq(pendingChanges.id, id), eq(pendingChanges.status, "pending")))
}

const CONFIRM_PENDING = `
  update pending_changes set status = 'confirmed', resolved_at = now() where id = $1`

/** Marks a record confirmed, as a statement of the transaction that writes its audit entries. */
export const confirmPendingStatement = (id: number): Statement => [CONFIRM_PENDING, [id]]

import { eq, sql } from "drizzle-orm"
import type { Db, Tx } from "../../db/client"
import { orgPolicy } from "../../db/schema"

/** `org_policy`: one row (id `default`), written the first time an admin saves the policy. */
export type OrgPolicyRow = typeof orgPolicy.$inferSelect
export type OrgPolicyValues = Partial<Omit<typeof orgPolicy.$inferInsert, "id">>

const ID = "default"

/** The policy's row, or undefined before anyone saved one. */
export async function readPolicyRow(db: Db): Promise<OrgPolicyRow | undefined> {
  const [row] = await db.select().from(orgPolicy).where(eq(orgPolicy.id, ID))
  return row
}

/** Writes `values` over the row (creating it with the column defaults for the rest). */
export async function upsertPolicyRow(db: Db, values: OrgPolicyValues): Promise<OrgPolicyRow> {
  const [row] = await db
    .insert(orgPolicy)
    .values({ id: ID, ...values })
    .onConflictDoUpdate({ target: orgPolicy.id, set: values })
    .returning()
  return row!
}

/** The advisory lock that serialises policy changes ("kg-policy" as a number). */
const POLICY_LOCK_KEY = 0x6b67_706f

/** Holds the policy's lock until `tx` ends: one change at a time. */
export async function lockPolicy(tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${POLICY_LOCK_KEY})`)
}

import { and, desc, eq, notInArray } from "drizzle-orm"
import type { Db } from "../../db/client"
import { passwordHistory } from "../../db/schema"

/** `password_history`: the hashes Kratos stored for an identity's recent passwords. */

/** The identity's kept hashes, newest first, at most `limit`. */
export async function keptHashes(db: Db, identityId: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ hash: passwordHistory.hash })
    .from(passwordHistory)
    .where(eq(passwordHistory.identityId, identityId))
    .orderBy(desc(passwordHistory.id))
    .limit(limit)
  return rows.map((r) => r.hash)
}

/** Adds the hash as the newest (unless it is kept already) and drops all but the newest `keep`. */
export async function keepHash(
  db: Db,
  identityId: string,
  hash: string,
  keep: number,
): Promise<void> {
  await db.insert(passwordHistory).values({ identityId, hash }).onConflictDoNothing()
  const newest = db
    .select({ id: passwordHistory.id })
    .from(passwordHistory)
    .where(eq(passwordHistory.identityId, identityId))
    .orderBy(desc(passwordHistory.id))
    .limit(keep)
  await db
    .delete(passwordHistory)
    .where(and(eq(passwordHistory.identityId, identityId), notInArray(passwordHistory.id, newest)))
}

/** Forgets every kept hash of the identity. */
export async function forgetHashes(db: Db, identityId: string): Promise<void> {
  await db.delete(passwordHistory).where(eq(passwordHistory.identityId, identityId))
}

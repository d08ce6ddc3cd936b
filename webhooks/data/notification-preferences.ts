import { and, eq, inArray, sql } from "drizzle-orm"
import type { Db } from "../../db/client"
import { notificationPreferences } from "../../db/schema"

/** `notification_preferences`: a person's switch per security mail (absent: on). */

export async function readPreferences(
  db: Db,
  identityId: string,
): Promise<{ kind: string; enabled: boolean }[]> {
  return db
    .select({ kind: notificationPreferences.kind, enabled: notificationPreferences.enabled })
    .from(notificationPreferences)
    .where(eq(notificationPreferences.identityId, identityId))
}

/** The kinds among `kinds` this person switched off. */
export async function switchedOff(db: Db, identityId: string, kinds: string[]): Promise<string[]> {
  if (kinds.length === 0) return []
  const p = notificationPreferences
  const rows = await db
    .select({ kind: p.kind })
    .from(p)
    .where(and(eq(p.identityId, identityId), inArray(p.kind, kinds), eq(p.enabled, false)))
  return rows.map((r) => r.kind)
}

export async function writePreferences(
  db: Db,
  identityId: string,
  changes: { kind: string; enabled: boolean }[],
): Promise<void> {
  if (changes.length === 0) return
  await db
    .insert(notificationPreferences)
    .values(changes.map((c) => ({ identityId, kind: c.kind, enabled: c.enabled })))
    .onConflictDoUpdate({
      target: [notificationPreferences.identityId, notificationPreferences.kind],
      set: { enabled: sql`excluded.enabled`, updatedAt: sql`now()` },
    })
}

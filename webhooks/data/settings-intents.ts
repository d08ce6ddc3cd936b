import { and, desc, eq, gte, inArray, sql } from "drizzle-orm"
import type { Db } from "../../db/client"
import { settingsIntents } from "../../db/schema"

/** `settings_intents`: what a settings submission asked for, noted by the proxy. */
export type IntentRow = typeof settingsIntents.$inferSelect

export async function insertIntent(
  db: Db,
  intent: { flowId: string; kind: string; detail: string | null },
): Promise<void> {
  await db.insert(settingsIntents).values(intent)
}

/**
 * The newest intent of one of `kinds` (not empty) for the flow, recorded within the last
 * `seconds` by the database clock (replicas' clocks don't matter).
 */
export async function newestIntent(
  db: Db,
  flowId: string,
  kinds: readonly string[],
  seconds: number,
): Promise<IntentRow | null> {
  const [row] = await db
    .select()
    .from(settingsIntents)
    .where(
      and(
        eq(settingsIntents.flowId, flowId),
        inArray(settingsIntents.kind, [...kinds]),
        gte(settingsIntents.createdAt, sql`now() - make_interval(secs => ${seconds})`),
      ),
    )
    .orderBy(desc(settingsIntents.createdAt), desc(settingsIntents.id))
    .limit(1)
  return row ?? null
}

import type { Db } from "./client"

/**
 * A parameterised SQL statement ($1, $2, …) run on a drizzle handle's own connection: the pool,
 * or the connection of the transaction `db` is. For the hot paths (webhooks), where drizzle's
 * query building and result mapping cost more CPU than the round trip itself.
 *
 * Statements started together (Promise.all) inside one transaction are sent together: one
 * round trip, run in order, each with its own snapshot. On postgres.js they are prepared
 * statements (parsed once per connection).
 *
 * Results come as the driver parses them with drizzle's settings: json/jsonb parsed, timestamps
 * as Postgres's text (drizzle turns its parsers off); select `to_json(ts)` or go through
 * `fromRowJson` for Dates.
 */
export function rawQuery<R>(db: Db, text: string, values: unknown[] = []): Promise<R[]> {
  const client = (db as unknown as { session: { client: RawClient } }).session.client
  if ("unsafe" in client) {
    return client.unsafe(text, values, { prepare: true }) as unknown as Promise<R[]>
  }
  return client.query<R>(text, values).then((r) => r.rows)
}

type RawClient =
  | { unsafe(text: string, values: unknown[], opts: { prepare: boolean }): PromiseLike<unknown> }
  | { query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }> }

/** An ISO 8601 timestamp as `row_to_json` writes it, or null, to a Date (or null). */
export const dateOrNull = (v: unknown): Date | null =>
  typeof v === "string" ? new Date(v) : v instanceof Date ? v : null

/** One statement of `atomic`: SQL text with $1, $2, … and its values. */
export type Statement = readonly [text: string, values: unknown[]]

interface ReservedSql {
  unsafe(text: string, values: unknown[], opts: { prepare: boolean }): Promise<unknown[]>
  release(): void
}

/**
 * Runs `statements` in order as one transaction and answers each one's rows. On postgres.js
 * BEGIN, the statements and COMMIT are sent together on one connection: a single round trip,
 * each statement with its own snapshot (read committed), so a statement after an advisory
 * lock reads what every earlier holder committed, and the lock is held for that one round
 * trip only. A failing statement makes Postgres skip the rest and turn COMMIT into a
 * rollback; the error is thrown and nothing is written. On PGlite, a plain transaction.
 */
export async function atomic(db: Db, statements: readonly Statement[]): Promise<unknown[][]> {
  const client = (db as unknown as { session: { client: unknown } }).session.client as
    | { reserve(): Promise<ReservedSql> }
    | { transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> }
  if (!("reserve" in client)) {
    return db.transaction(async (tx) => {
      const out: unknown[][] = []
      for (const [text, values] of statements) out.push(await rawQuery(tx, text, values))
      return out
    })
  }
  const conn = await client.reserve()
  const run = (text: string, values: unknown[] = [], prepare = true) =>
    conn.unsafe(text, values, { prepare })
  let committed = false
  try {
    const sent = [
      // Explicitly: the audit chain's append needs it whatever the database's default.
      run("begin isolation level read committed", [], false),
      ...statements.map(([text, values]) => run(text, values)),
    ]
    const commit = run("commit", [], false)
    // Every promise is settled before deciding, so no rejection goes unobserved.
    const results = await Promise.allSettled([...sent, commit])
    const failed = results.find((r) => r.status === "rejected")
    if (failed) throw failed.reason
    committed = true
    return results.slice(1, -1).map((r) => [...(r as PromiseFulfilledResult<unknown[]>).value])
  } finally {
    // After a failure the transaction is already over (COMMIT ran as a rollback) unless the
    // connection broke mid-way; a rollback here is harmless either way.
    if (!committed) await run("rollback", [], false).catch(() => {})
    conn.release()
  }
}

/**
 * A transaction whose BEGIN goes with its first statements and whose COMMIT goes with its
 * last ones: `work` runs statements with `query` (those started together share a round trip)
 * and answers its value and the statements to end with, which are sent with COMMIT. A throw,
 * or any failed statement, rolls it all back. On PGlite, a plain transaction.
 */
export async function pipelinedTransaction<T>(
  db: Db,
  work: (
    query: <R>(text: string, values?: unknown[]) => Promise<R[]>,
  ) => Promise<{ value: T; last: readonly Statement[] }>,
): Promise<T> {
  const client = (db as unknown as { session: { client: unknown } }).session.client as
    { reserve(): Promise<ReservedSql> } | object
  if (!("reserve" in client)) {
    return db.transaction(async (tx) => {
      const { value, last } = await work((text, values = []) => rawQuery(tx, text, values))
      for (const [text, values] of last) await rawQuery(tx, text, values)
      return value
    })
  }
  const conn = await client.reserve()
  const run = (text: string, values: unknown[] = [], prepare = true) =>
    conn.unsafe(text, values, { prepare })
  let committed = false
  try {
    // Explicitly: the callers' reads after a lock need it whatever the database's default.
    const begun = run("begin isolation level read committed", [], false)
    begun.catch(() => {})
    const { value, last } = await work(
      <R>(text: string, values: unknown[] = []) => run(text, values) as Promise<R[]>,
    )
    const results = await Promise.allSettled([
      begun,
      ...last.map(([text, values]) => run(text, values)),
      run("commit", [], false),
    ])
    const failed = results.find((r) => r.status === "rejected")
    if (failed) throw failed.reason
    committed = true
    return value
  } finally {
    if (!committed) await run("rollback", [], false).catch(() => {})
    conn.release()
  }
}

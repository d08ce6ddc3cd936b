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

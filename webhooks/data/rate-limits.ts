import { RateLimiterPostgres } from "rate-limiter-flexible"
import type { Database } from "../../db/client"

/**
 * `rate_limits`: counters shared by every replica, in rate-limiter-flexible's Postgres store
 * (the table is created by our migrations; the store is told it exists).
 */

/**
 * rate-limiter-flexible's Postgres store talks to a pg `Pool`-like client; `Database.query`
 * answers the same for postgres.js and PGlite. `expire` (bigint) comes back as a string from
 * postgres.js, so it is made a number.
 */
export function rateLimiterStore(database: Database) {
  return {
    query: async ({ text, values }: { text: string; values?: unknown[] }) => {
      const { rows } = await database.query<Record<string, unknown>>(text, values)
      const normalised = rows.map((r) =>
        r.expire == null ? r : { ...r, expire: Number(r.expire) },
      )
      return { rows: normalised, rowCount: rows.length }
    },
  }
}

/** A counter of `points` per key over `seconds`, its keys prefixed with `prefix`. */
export function counter(
  database: Database,
  opts: { prefix: string; points: number; seconds: number; sweepsExpired: boolean },
): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: rateLimiterStore(database),
    storeType: "pool",
    tableName: "rate_limits",
    tableCreated: true,
    keyPrefix: opts.prefix,
    points: opts.points,
    duration: opts.seconds,
    clearExpiredByTimeout: opts.sweepsExpired,
  })
}

import { mkdirSync } from "node:fs"
import path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { sql } from "drizzle-orm"
import type { ExtractTablesWithRelations } from "drizzle-orm"
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator"
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js"
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator"
import postgres from "postgres"
import * as schema from "./schema"

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
/** A handle inside a transaction (what `db.transaction` passes its work); a plain `Db` is not one. */
export type Tx = PgTransaction<
  PgQueryResultHKT,
  typeof schema,
  ExtractTablesWithRelations<typeof schema>
>

/** A database handle that is either Postgres (postgres.js) or embedded PGlite, same schema. */
export interface Database {
  readonly db: Db
  readonly kind: "postgres" | "pglite"
  /** A parameterised SQL statement ($1, $2, …) outside drizzle, answering pg-style `{ rows }`. */
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>
  /** Replaces every pooled connection with a fresh pool (no-op on PGlite). */
  reset(): Promise<void>
  migrate(): Promise<void>
  close(): Promise<void>
}

/** Next to this file in the source tree; bundles (the container) set MIGRATIONS_DIR. */
export const MIGRATIONS_DIR = process.env.MIGRATIONS_DIR ?? path.join(__dirname, "migrations")

export interface DatabaseOptions {
  databaseUrl?: string
  pgliteDir?: string
  poolMax?: number
}

export function openDatabase(opts: DatabaseOptions): Database {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.poolMax ?? 10)
    : openPglite(opts.pgliteDir)
}

/** postgres.js's codes for a connection that closed, ended or never came up. */
const CONNECTION_ERRORS = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
])

/**
 * postgres.js 3.4.9 can write to a connection whose socket was closed from a deferred
 * (setImmediate) write, which throws outside any query (porsager/postgres#1154, #1208): a
 * TypeError no caller can catch. The connection object is left with a stale write buffer and
 * never completes a handshake again, so the pool must be replaced (Database.reset).
 */
export function isDriverWriteAfterClose(err: unknown): boolean {
  return (
    (err instanceof TypeError &&
      /reading 'write'/.test(err.message) &&
      /nextWrite/.test(err.stack ?? "") &&
      /postgres/.test(err.stack ?? "")) ||
    isOrphanSocketReset(err)
  )
}

/**
 * The same family, seen when Postgres stops while queries run: a reset arrives on a socket
 * the driver has already let go of (no 'error' listener left), so Node throws it bare, with
 * nothing but the socket read in its stack. Every socket the service itself owns has a
 * listener (HTTP servers and agents handle theirs).
 */
function isOrphanSocketReset(err: unknown): boolean {
  const e = err as { code?: unknown; syscall?: unknown; stack?: unknown }
  if (!(err instanceof Error) || e.code !== "ECONNRESET" || e.syscall !== "read") return false
  const frames = String(e.stack ?? "")
    .split("\n")
    .filter((l) => l.trim().startsWith("at "))
  return frames.length > 0 && frames.every((l) => /onStreamRead/.test(l))
}

function openPostgres(url: string, max: number): Database {
  const connect = () =>
    postgres(url, {
      max,
      // Fail fast when Postgres is gone, so readiness and requests answer instead of hanging.
      connect_timeout: 5,
      idle_timeout: 30,
      onnotice: () => {},
    })
  let client = connect()
  let db = drizzlePostgres(client, { schema }) as unknown as Db
  let lastReset = 0
  // Swaps in a fresh pool; queries already running on the old one get 5 s to finish.
  const reset = async () => {
    if (Date.now() - lastReset < 1000) return
    lastReset = Date.now()
    const old = client
    client = connect()
    db = drizzlePostgres(client, { schema }) as unknown as Db
    await old.end({ timeout: 5 }).catch(() => {})
  }
  return {
    get db() {
      return db
    },
    kind: "postgres",
    query: async <R>(text: string, values: unknown[] = []) => ({
      // Prepared per connection (as rawQuery does): the pollers send the same few statements.
      rows: [
        ...(await client.unsafe(text, values as postgres.ParameterOrJSON<never>[], {
          prepare: true,
        })),
      ] as R[],
    }),
    ping: (timeoutMs = 2000) => {
      const answered = client`select 1`.then(() => undefined)
      // A pool that can't connect (Postgres restarted, or a connection left unusable by the
      // driver) is replaced, so the service recovers once Postgres is back without a restart.
      answered.catch((err: { code?: string }) => {
        if (CONNECTION_ERRORS.has(err?.code ?? "") || /^(08|57P)/.test(err?.code ?? "")) {
          void reset()
        }
      })
      return withTimeout(answered, timeoutMs)
    },
    reset,
    migrate: async () => {
      // A dedicated single connection: migrations take an advisory lock and run in one session.
      const migrator = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await migratePostgres(drizzlePostgres(migrator), { migrationsFolder: MIGRATIONS_DIR })
      } finally {
        await migrator.end({ timeout: 5 })
      }
    },
    close: () => client.end({ timeout: 5 }),
  }
}

function openPglite(dir?: string): Database {
  if (dir) mkdirSync(dir, { recursive: true })
  const client = new PGlite(dir)
  const db = drizzlePglite(client, { schema }) as unknown as Db
  return {
    db,
    kind: "pglite",
    query: async <R>(text: string, values: unknown[] = []) => ({
      rows: (await client.query<R>(text, values)).rows,
    }),
    ping: (timeoutMs = 2000) =>
      withTimeout(
        db.execute(sql`select 1`).then(() => undefined),
        timeoutMs,
      ),
    reset: async () => {},
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_DIR }),
    close: () => client.close(),
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

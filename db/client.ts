import { mkdirSync } from "node:fs"
import path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { sql } from "drizzle-orm"
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator"
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js"
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator"
import postgres from "postgres"
import * as schema from "./schema"

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** A database handle that is either Postgres (postgres.js) or embedded PGlite, same schema. */
export interface Database {
  readonly db: Db
  readonly kind: "postgres" | "pglite"
  /** A parameterised SQL statement ($1, $2, …) outside drizzle, answering pg-style `{ rows }`. */
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>
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

function openPostgres(url: string, max: number): Database {
  const client = postgres(url, {
    max,
    // Fail fast when Postgres is gone, so readiness and requests answer instead of hanging.
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
  })
  const db = drizzlePostgres(client, { schema }) as unknown as Db
  return {
    db,
    kind: "postgres",
    query: async <R>(text: string, values: unknown[] = []) => ({
      rows: [...(await client.unsafe(text, values as postgres.ParameterOrJSON<never>[]))] as R[],
    }),
    ping: (timeoutMs = 2000) =>
      withTimeout(
        client`select 1`.then(() => undefined),
        timeoutMs,
      ),
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

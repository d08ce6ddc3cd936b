import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { type Database, openDatabase } from "../../db/client"

/** The security team the test stacks notify. */
export const SECURITY_TEAM = ["security-team@example.com", "ciso@example.com"]

/** The test Postgres (`npm test` sets it when it starts one of its own). */
export const TEST_POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const ADMIN_URL = TEST_POSTGRES_ADMIN_URL

/**
 * Creates a throw-away Kratos database and service database for one stack; undefined when
 * Postgres is not reachable (the test setup then stops; a benchmark uses SQLite and PGlite).
 */
export async function createDatabases(runId: string) {
  const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await admin`select 1`
  } catch {
    await admin.end({ timeout: 1 }).catch(() => {})
    return undefined
  }
  const names = { kratos: `kg_${runId}_kratos`, service: `kg_${runId}_svc` }
  await admin.unsafe(`create database ${names.kratos}`)
  await admin.unsafe(`create database ${names.service}`)
  await admin.end()
  const base = new URL(ADMIN_URL)
  const urlFor = (db: string) => {
    const u = new URL(base)
    u.pathname = `/${db}`
    return u.toString()
  }
  return {
    kratosUrl: `${urlFor(names.kratos)}?sslmode=disable&max_conns=10&max_idle_conns=10`,
    serviceUrl: urlFor(names.service),
    drop: async () => {
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
      for (const n of Object.values(names))
        await sql.unsafe(`drop database if exists ${n} with (force)`)
      await sql.end()
    },
  }
}

/**
 * A throw-away, migrated service database on the test Postgres, for tests that must not touch
 * the shared one (bulk rows without a hash chain, a deliberately broken chain, tiny limits).
 */
export async function scratchDatabase(): Promise<{
  database: Database
  url: string
  drop: () => Promise<void>
}> {
  const name = `kg_scratch_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const database = openDatabase({ databaseUrl: url.toString(), poolMax: 4 })
  await database.migrate()
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close().catch(() => {})
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop database if exists ${name} with (force)`)
      await sql.end()
    },
  }
}

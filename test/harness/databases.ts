import { execFile } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import postgres from "postgres"
import { type Database, MIGRATIONS_DIR, openDatabase } from "../../db/client"
import { ensureKratosBinary, ROOT } from "../../scripts/stack"

/** The security team the test stacks notify. */
export const SECURITY_TEAM = ["security-team@example.com", "ciso@example.com"]

/** The test Postgres (`npm test` sets it when it starts one of its own). */
export const TEST_POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const ADMIN_URL = TEST_POSTGRES_ADMIN_URL

const urlOf = (db: string) => {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${db}`
  return u.toString()
}

/**
 * Migrated databases to copy (`create database … template …`): one for Kratos, one for the
 * service, made once per Postgres server, Kratos build and set of service migrations. A copy is
 * a file copy; migrating a fresh Kratos database runs some hundred migrations (about 6 s on a
 * stock Postgres, most of it the server's), and a test run makes some forty databases.
 * Named by a hash of what they hold, so a changed migration makes new ones (older ones are
 * dropped). Built under an advisory lock, under a provisional name renamed when done, so a
 * process that finds the name finds a finished template nobody is connected to.
 */
export interface Templates {
  kratos: string
  service: string
}
let templates: Promise<Templates> | undefined

export function databaseTemplates(): Promise<Templates> {
  templates ??= buildTemplates()
  return templates
}

async function buildTemplates(): Promise<Templates> {
  const kratosBin = ensureKratosBinary()
  const hash = createHash("sha256").update(path.basename(kratosBin))
  for (const f of readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    hash.update(f).update(readFileSync(path.join(MIGRATIONS_DIR, f)))
  }
  const key = hash.digest("hex").slice(0, 12)
  const names = { kratos: `kg_tpl_${key}_kratos`, service: `kg_tpl_${key}_svc` }
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    // One connection, so the session-level lock and the queries share it.
    await admin`select pg_advisory_lock(70194639)`
    const existing = new Set(
      (
        await admin<
          { datname: string }[]
        >`select datname from pg_database where datname like 'kg_tpl_%'`
      ).map((r) => r.datname),
    )
    for (const old of existing) {
      if (!Object.values(names).includes(old)) {
        await admin.unsafe(`drop database if exists ${old} with (force)`)
      }
    }
    if (!existing.has(names.kratos)) {
      await build(admin, names.kratos, (url) => migrateKratos(kratosBin, url))
    }
    if (!existing.has(names.service)) {
      await build(admin, names.service, async (url) => {
        const db = openDatabase({ databaseUrl: url, poolMax: 1 })
        try {
          await db.migrate()
        } finally {
          await db.close()
        }
      })
    }
    await admin`select pg_advisory_unlock(70194639)`
    return names
  } finally {
    await admin.end()
  }
}

async function build(
  admin: postgres.Sql,
  name: string,
  migrate: (url: string) => Promise<void>,
): Promise<void> {
  const building = `${name}_building`
  await admin.unsafe(`drop database if exists ${building} with (force)`)
  await admin.unsafe(`create database ${building}`)
  await migrate(urlOf(building))
  await admin.unsafe(`alter database ${building} rename to ${name}`)
}

async function migrateKratos(kratosBin: string, url: string): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kg-kratos-template-"))
  try {
    const config = path.join(dir, "kratos.yml")
    const schema = `file://${path.join(ROOT, "kratos/identity.schema.json")}`
    writeFileSync(
      config,
      [
        "identity:",
        "  default_schema_id: default",
        "  schemas:",
        "    - id: default",
        `      url: ${schema}`,
        "selfservice:",
        "  default_browser_return_url: http://127.0.0.1/",
        "",
      ].join("\n"),
    )
    await promisify(execFile)(kratosBin, ["migrate", "sql", "-e", "--yes", "-c", config], {
      env: { PATH: process.env.PATH ?? "", DSN: `${url}?sslmode=disable` },
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Creates a throw-away Kratos database and service database for one stack, copies of the
 * migrated templates (so the stack skips Kratos's migrations: `kratosMigrated`); undefined when
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
  try {
    const from = await databaseTemplates()
    await admin.unsafe(`create database ${names.kratos} template ${from.kratos}`)
    await admin.unsafe(`create database ${names.service} template ${from.service}`)
  } finally {
    await admin.end()
  }
  return {
    kratosUrl: `${urlOf(names.kratos)}?sslmode=disable&max_conns=10&max_idle_conns=10`,
    serviceUrl: urlOf(names.service),
    kratosMigrated: true,
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
  const from = await databaseTemplates()
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name} template ${from.service}`)
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

import postgres from "postgres"

/** The security team the test stacks notify. */
export const SECURITY_TEAM = ["security-team@example.com", "ciso@example.com"]

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/**
 * Creates a throw-away Kratos database and service database for one stack; undefined when
 * Postgres is not reachable (the stack then uses SQLite and PGlite).
 */
export async function createDatabases(runId: string) {
  const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await admin`select 1`
  } catch {
    await admin.end({ timeout: 1 }).catch(() => {})
    console.warn(
      "\nPostgres is not reachable at 127.0.0.1:5432: using SQLite for Kratos and PGlite for the service",
    )
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
    kratosUrl: `${urlFor(names.kratos)}?sslmode=disable&max_conns=10`,
    serviceUrl: urlFor(names.service),
    drop: async () => {
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
      for (const n of Object.values(names))
        await sql.unsafe(`drop database if exists ${n} with (force)`)
      await sql.end()
    },
  }
}

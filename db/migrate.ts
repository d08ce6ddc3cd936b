import { openDatabase } from "./client"

/**
 * `npm run db:migrate`: applies db/migrations to DATABASE_URL, or to the embedded PGlite
 * database in PGLITE_DIR (default .data/pglite) when DATABASE_URL is not set.
 */
async function main(): Promise<void> {
  const database = openDatabase({
    databaseUrl: process.env.DATABASE_URL || undefined,
    pgliteDir: process.env.PGLITE_DIR || ".data/pglite",
  })
  try {
    await database.migrate()
    console.log(`migrations applied (${database.kind})`)
  } finally {
    await database.close()
  }
}

main().catch((err: unknown) => {
  console.error("migration failed:", err instanceof Error ? err.message : err)
  process.exit(1)
})

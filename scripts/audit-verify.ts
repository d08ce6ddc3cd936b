import { openDatabase } from "../db/client"
import { verifyAuditChain } from "../webhooks/domain/audit"

/**
 * `npm run audit:verify`: recomputes the audit trail's hash chain in DATABASE_URL, or in the
 * embedded PGlite database in PGLITE_DIR (default .data/pglite) when DATABASE_URL is not set.
 * It only reads: entries the sealer has not reached yet are counted on a line of their own
 * (they are recorded, and will be covered once sealed). Exits 0 when the chain is intact, 2
 * when it is broken, 1 when it could not be checked.
 */
async function main(): Promise<number> {
  const database = openDatabase({
    databaseUrl: process.env.DATABASE_URL || undefined,
    pgliteDir: process.env.PGLITE_DIR || ".data/pglite",
    poolMax: 1,
  })
  try {
    const report = await verifyAuditChain(database)
    const waiting = report.unsealed
    if (waiting) {
      const age = Math.max(0, Date.now() - new Date(waiting.oldestAt).getTime())
      console.log(
        `unsealed: ${waiting.count} entries not in the chain yet, the oldest entry ` +
          `${waiting.oldestId}, recorded ${(age / 1000).toFixed(1)} s ago` +
          (age > 60_000 ? " (is a service replica running? each one seals)" : ""),
      )
    }
    if (report.ok) {
      console.log(`audit chain OK: ${report.checked} entries`)
      return 0
    }
    const { id, reason } = report.brokenAt!
    console.log(`audit chain BROKEN at entry ${id}: ${reason} (${report.checked} intact before it)`)
    return 2
  } finally {
    await database.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("audit verification failed:", describe(err))
    process.exit(1)
  },
)

/** drizzle's "Failed query: …" wraps the database's own reason, which is what a person needs. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return err.cause instanceof Error ? err.cause.message : err.message
}

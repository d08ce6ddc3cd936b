import { Writable } from "node:stream"
import { listAuditQuery, streamAuditCsv, type AuditFilters } from "../webhooks/domain/audit-queries"
import {
  generatedActor,
  generatedSubject,
  GENERATED_BASE,
  insertGeneratedRows,
  scratchDatabase,
} from "../test/harness/audit-rows"

/**
 * CSV export of N generated audit rows (default 100,000) from a throw-away Postgres database
 * (TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres): prints the RSS growth
 * while streaming, and the query plans of the audit page queries.
 */
const N = Number(process.env.BENCH_ROWS ?? 100_000)
const MB = 1024 * 1024

async function main() {
  const { database, drop } = await scratchDatabase()
  try {
    await insertGeneratedRows(database, N)

    const plans: [string, AuditFilters][] = [
      ["no filter", {}],
      ["subject", { subjectId: generatedSubject(3) }],
      ["actor", { actorId: generatedActor(3) }],
      ["one event", { event: "auth.login" }],
      ["event list", { event: ["auth.login", "admin.role_changed"] }],
      ["subject + events", { subjectId: generatedSubject(3), event: ["auth.login"] }],
      [
        "time range (1 h)",
        {
          from: new Date(GENERATED_BASE.getTime() + 3_600_000),
          to: new Date(GENERATED_BASE.getTime() + 7_200_000),
        },
      ],
    ]
    for (const [label, filters] of plans) {
      const q = listAuditQuery(database.db, filters, { limit: 20 }).toSQL()
      const { rows } = await database.query<{ "QUERY PLAN": string }>(
        `explain analyze ${q.sql}`,
        q.params as unknown[],
      )
      console.log(`\n-- ${label}\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}`)
    }

    global.gc?.()
    const before = process.memoryUsage().rss
    let peak = before
    let bytes = 0
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length
        setImmediate(done) // a consumer that takes its time, like a slow client
      },
    })
    const t0 = Date.now()
    const result = await streamAuditCsv(database, {}, sink)
    clearInterval(sample)
    peak = Math.max(peak, process.memoryUsage().rss)
    console.log(
      `\nexported ${result.rows} rows (${(bytes / MB).toFixed(1)} MB CSV) in ${result.batches} batches, ${Date.now() - t0} ms`,
    )
    console.log(
      `RSS before ${(before / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${((peak - before) / MB).toFixed(1)} MB`,
    )
  } finally {
    await drop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

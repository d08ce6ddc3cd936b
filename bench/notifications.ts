import { mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import pino from "pino"
import { openDatabase } from "../db/client"
import { createDispatcher } from "../webhooks/domain/notifications/dispatcher"
import { freePort, mailSinkProcess } from "../scripts/stack"
import { createDatabases } from "../test/harness/databases"

/**
 * Notification dispatcher throughput: N queued rows sent over SMTP to the local mail sink (a
 * process of its own) with the default batch size and concurrency, timed from start until
 * every row is marked sent. Postgres at 127.0.0.1:5432 when reachable, PGlite otherwise.
 */
const N = Number(process.env.BENCH_NOTIFICATIONS ?? 1000)
const BATCH = Number(process.env.NOTIFY_BATCH_SIZE ?? 50)
const CONCURRENCY = Number(process.env.NOTIFY_CONCURRENCY ?? 5)

async function main() {
  const pg = await createDatabases(`bn${Date.now().toString(36)}`)
  const pgliteDir = pg ? undefined : mkdtempSync(path.join(os.tmpdir(), "kg-bench-"))
  const database = openDatabase({ databaseUrl: pg?.serviceUrl, pgliteDir, poolMax: 10 })
  const sink = mailSinkProcess({
    smtpPort: await freePort(),
    httpPort: await freePort(),
    keep: N + 10,
  })
  try {
    await database.migrate()
    await sink.start()
    await database.query(
      `insert into notification_outbox (audit_event_id, kind, recipient, subject, body_text, body_html, message_id)
       select gen_random_uuid(), 'bench', 'r' || i || '@example.com', 'Bench ' || i,
              repeat('Plain text body. ', 40), '<p>' || repeat('HTML body. ', 40) || '</p>',
              '<' || gen_random_uuid() || '@kratos-guard>'
         from generate_series(1, $1::int) as i`,
      [N],
    )
    const dispatcher = createDispatcher({
      database,
      log: pino({ level: "warn" }),
      smtpUrl: sink.smtpUrl,
      from: "kratos-guard <security@kratos-guard.local>",
      maxAttempts: 8,
      pollMs: 50,
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      leaseSeconds: 120,
    })
    const t0 = performance.now()
    dispatcher.start()
    for (;;) {
      const { rows } = await database.query<{ left: number }>(
        "select count(*)::int as left from notification_outbox where status <> 'sent'",
      )
      if (rows[0]!.left === 0) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const seconds = (performance.now() - t0) / 1000
    await dispatcher.stop()
    const received = ((await (await fetch(sink.messagesUrl)).json()) as unknown[]).length
    console.log(
      `notifications: ${N} sent in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} messages/s ` +
        `(batch ${BATCH}, concurrency ${CONCURRENCY}, ${database.kind}); sink received ${received}`,
    )
    if (received !== N) process.exitCode = 1
  } finally {
    await sink.stop()
    await database.close()
    await pg?.drop()
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

import { mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import pino from "pino"
import { openDatabase } from "../db/client"
import { createDispatcher } from "../webhooks/domain/notifications/dispatcher"
import { freePort, mailSinkProcess } from "../scripts/stack"
import { createDatabases } from "../test/harness/databases"
import { figure, printFigure, type Figure } from "./lib"

/**
 * Benchmark 5, notification dispatcher throughput: N queued rows sent over SMTP to the local mail sink (a
 * process of its own) with the default batch size and concurrency, timed from start until
 * every row is marked sent. Postgres at 127.0.0.1:5432 when reachable, PGlite otherwise.
 */
const N = Number(process.env.BENCH_NOTIFICATIONS ?? 1000)
const BATCH = Number(process.env.NOTIFY_BATCH_SIZE ?? 50)
const CONCURRENCY = Number(process.env.NOTIFY_CONCURRENCY ?? 5)

export async function runNotifications(): Promise<{ figures: Figure[] }> {
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
    const figures = [
      figure(
        "5 dispatch",
        "notifications sent over SMTP",
        N / seconds,
        "msg/s",
        { op: ">=", limit: 100 },
        `${N} in ${seconds.toFixed(2)} s, batch ${BATCH}, concurrency ${CONCURRENCY}, ${database.kind}`,
      ),
      figure("5 dispatch", "mails the SMTP sink received", received, "mails", {
        op: ">=",
        limit: N,
      }),
    ]
    figures.forEach(printFigure)
    return { figures }
  } finally {
    await sink.stop()
    await database.close()
    await pg?.drop()
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true })
  }
}

if (require.main === module) {
  runNotifications().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}

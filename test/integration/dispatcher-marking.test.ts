import pino from "pino"
import { openDatabase } from "../../db/client"
import { createDispatcher } from "../../webhooks/domain/notifications/dispatcher"
import { startMailSink } from "../../scripts/mail-sink"
import { freePort } from "../../scripts/stack"
import { scratchDatabase } from "../harness/databases"
import { startTcpProxy } from "../harness/tcp-proxy"

describe("marking sent mail when the database blips", () => {
  it("when a sent mail can't be marked because the database is away, then the next round marks it and it is not sent again", async () => {
    const scratch = await scratchDatabase()
    // The dispatcher reaches Postgres through a proxy the SMTP server cuts the moment it has the
    // message, before it answers 250: both attempts to mark the row sent find no database.
    const dbProxy = await startTcpProxy()
    const target = new URL(scratch.url)
    dbProxy.target(`http://${target.hostname}:${target.port}`)
    const viaProxy = new URL(scratch.url)
    viaProxy.host = `127.0.0.1:${dbProxy.port}`
    const database = openDatabase({ databaseUrl: viaProxy.toString(), poolMax: 2 })
    const received: (string | null)[] = []
    const sink = await startMailSink({
      smtpPort: await freePort(),
      httpPort: await freePort(),
      onMessage: (m) => {
        received.push(m.messageId)
        void dbProxy.cut()
      },
    })
    const dispatcher = createDispatcher({
      database,
      log: pino({ level: "silent" }),
      smtpUrl: `smtp://127.0.0.1:${sink.smtpPort}`,
      from: "test@example.com",
      maxAttempts: 5,
      pollMs: 50,
      batchSize: 10,
      concurrency: 1,
      leaseSeconds: 60,
    })
    const status = async () =>
      (
        await scratch.database.query<{ status: string }>("select status from notification_outbox")
      ).rows.map((r) => r.status)
    try {
      await scratch.database.query(
        `insert into notification_outbox (audit_event_id, kind, recipient, subject, body_text, message_id)
         values (gen_random_uuid(), 'test.marking', 'someone@example.com', 'Hello', 'body', '<m1@kratos-guard>')`,
      )

      expect(await dispatcher.runOnce()).toBe(1)
      expect(received).toEqual(["<m1@kratos-guard>"])
      expect(await status()).toEqual(["sending"])

      // The database is back: the next round marks the row first and sends nothing.
      await dbProxy.restore()
      expect(await dispatcher.runOnce()).toBe(0)
      expect(await status()).toEqual(["sent"])
      expect(await dispatcher.runOnce()).toBe(0)
      expect(received).toEqual(["<m1@kratos-guard>"])
    } finally {
      await dispatcher.stop()
      await sink.close()
      await database.close().catch(() => {})
      await dbProxy.close()
      await scratch.drop()
    }
  })
})

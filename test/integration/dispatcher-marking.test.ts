import type { Transporter } from "nodemailer"
import pino from "pino"
import type { Database } from "../../db/client"
import { createDispatcher } from "../../webhooks/domain/notifications/dispatcher"
import { scratchDatabase } from "../harness/databases"

describe("marking sent mail when the database blips", () => {
  it("when a sent mail can't be marked because the database is away, then the next round marks it and it is not sent again", async () => {
    const { database, drop } = await scratchDatabase()
    try {
      await database.query(
        `insert into notification_outbox (audit_event_id, kind, recipient, subject, body_text, message_id)
         values (gen_random_uuid(), 'test.marking', 'someone@example.com', 'Hello', 'body', '<m1@kratos-guard>')`,
      )
      // The first two attempts to mark it sent (the immediate one and its retry) fail.
      let failing = 2
      const flaky = Object.assign(Object.create(database) as Database, {
        query: (text: string, values?: unknown[]) =>
          /set status = 'sent'/.test(text) && failing-- > 0
            ? Promise.reject(
                Object.assign(new Error("connection closed"), { code: "CONNECTION_CLOSED" }),
              )
            : database.query(text, values),
      })
      const sent: string[] = []
      const transport = {
        sendMail: async (m: { messageId: string }) => {
          sent.push(m.messageId)
          return {}
        },
        close: () => {},
      } as unknown as Transporter
      const dispatcher = createDispatcher({
        database: flaky,
        log: pino({ level: "silent" }),
        smtpUrl: "smtp://127.0.0.1:9",
        from: "test@example.com",
        maxAttempts: 5,
        pollMs: 50,
        batchSize: 10,
        concurrency: 1,
        leaseSeconds: 60,
        transport,
      })
      const status = async () =>
        (
          await database.query<{ status: string }>("select status from notification_outbox")
        ).rows.map((r) => r.status)

      expect(await dispatcher.runOnce()).toBe(1)
      expect(sent).toEqual(["<m1@kratos-guard>"])
      expect(await status()).toEqual(["sending"])

      expect(await dispatcher.runOnce()).toBe(0)
      expect(await status()).toEqual(["sent"])
      expect(await dispatcher.runOnce()).toBe(0)
      expect(sent).toEqual(["<m1@kratos-guard>"])
    } finally {
      await drop()
    }
  })
})

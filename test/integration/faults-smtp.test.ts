import postgres from "postgres"
import { eventually } from "../harness/eventually"
import { registerNative } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { changePasswordVia } from "../harness/stack-flows"

interface SinkMessage {
  to: string[]
  subject: string
  messageId: string | null
}

interface OutboxRow {
  id: string
  recipient: string
  status: string
  attempts: number
  message_id: string
  last_error: string | null
}

const SUBJECT = "Your password was changed"
/** How long SMTP stays down at least, whatever the retries (the issue asks for an outage). */
const OUTAGE_MS = 20_000

async function inbox(url: string): Promise<SinkMessage[]> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`inbox: HTTP ${res.status}`)
  return (await res.json()) as SinkMessage[]
}

describe("SMTP down while notifications are produced", () => {
  it("when the SMTP server goes away and comes back, then mail queued meanwhile is retried with backoff and each message arrives exactly once", async () => {
    const p = await startPrivateStack({
      mailSink: "up",
      env: { NOTIFY_POLL_MS: "200", NOTIFY_BACKOFF_BASE_MS: "1000", NOTIFY_MAX_ATTEMPTS: "50" },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    const sink = p.stack.mailSink!
    const outboxOf = (emails: string[]) => sql<OutboxRow[]>`
      select id, recipient, status, attempts, message_id, last_error from notification_outbox
       where kind = 'user.password_changed' and recipient in ${sql(emails)}`
    try {
      const before = await registerNative(undefined, undefined, p.urls)
      const during = await Promise.all(
        [1, 2, 3, 4].map(() => registerNative(undefined, undefined, p.urls)),
      )

      // While SMTP is up, a change is mailed at once.
      expect(
        (await changePasswordVia(p.urls, before.sessionToken, "Amber-Falcon-Ridge-18!")).status,
      ).toBe(200)
      await eventually(async () => {
        const got = (await inbox(sink.messagesUrl)).filter((m) => m.to.includes(before.email))
        expect(got.filter((m) => m.subject === SUBJECT)).toHaveLength(1)
      }, 20_000)

      await sink.stop()
      const downAt = Date.now()
      const changed = await Promise.all(
        during.map((u, i) =>
          changePasswordVia(p.urls, u.sessionToken, `Cobalt-Meadow-${i}-Drift!`),
        ),
      )
      expect(changed.map((c) => c.status)).toEqual(during.map(() => 200))
      const emails = during.map((u) => u.email)

      // Every row is retried several times with backoff, none given up, none marked sent.
      await eventually(async () => {
        const rows = await outboxOf(emails)
        expect(rows).toHaveLength(during.length)
        for (const r of rows) {
          expect(r.status).toBe("pending")
          expect(r.attempts).toBeGreaterThanOrEqual(3)
          expect(r.last_error).toMatch(/ECONNREFUSED/)
        }
      }, 60_000)
      const elapsed = Date.now() - downAt
      if (elapsed < OUTAGE_MS) await new Promise((r) => setTimeout(r, OUTAGE_MS - elapsed))
      const retries = await outboxOf(emails)
      // Backoff, not a tight loop: far fewer attempts than polls in the outage.
      for (const r of retries) expect(r.attempts).toBeLessThan(12)

      await sink.start()
      const rows = await eventually(async () => {
        const r = await outboxOf(emails)
        expect(r.map((x) => x.status)).toEqual(r.map(() => "sent"))
        return r
      }, 45_000)

      // The sink restarted empty: what it holds now was all sent after the outage.
      const received = await eventually(async () => {
        const got = (await inbox(sink.messagesUrl)).filter((m) => m.subject === SUBJECT)
        expect(got.length).toBeGreaterThanOrEqual(rows.length)
        return got
      })
      const perRecipient = new Map<string, number>()
      for (const m of received)
        for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1)
      for (const email of emails) expect(perRecipient.get(email)).toBe(1)
      expect(perRecipient.has(before.email)).toBe(false) // sent before the outage, not again
      expect(received.map((m) => m.messageId).sort()).toEqual(rows.map((r) => r.message_id).sort())
    } finally {
      await sql.end()
      await p.stop()
    }
  }, 180_000)
})

import { Configuration, FrontendApi, type LoginFlow } from "@ory/client"
import postgres from "postgres"
import { freePort } from "../../scripts/stack"
import { eventually } from "../harness/eventually"
import { flowMessages } from "../harness/flows"
import { registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

interface SinkMessage {
  to: string[]
  messageId: string | null
}

const LOGIN_THROTTLED = 4100020

/** A password login through one replica's origin; answers Kratos's (or the guard's) status. */
async function loginVia(url: string, email: string, password: string) {
  const frontend = new FrontendApi(new Configuration({ basePath: url }))
  const { data: flow } = await frontend.createNativeLoginFlow()
  try {
    const res = await frontend.updateLoginFlow({
      flow: flow.id,
      updateLoginFlowBody: { method: "password", identifier: email, password },
    })
    return { status: res.status, messages: [] as number[] }
  } catch (err) {
    const res = (err as { response?: { status: number; data: LoginFlow } }).response
    if (!res) throw err
    return { status: res.status, messages: flowMessages(res.data) }
  }
}

describe("two service replicas on one database", () => {
  it("when two replicas dispatch the same outbox, then every notification is sent exactly once; when a login is blocked through one, then it is blocked through the other", async () => {
    const p = await startPrivateStack({
      mailSink: "up",
      env: {
        NOTIFY_POLL_MS: "100",
        NOTIFY_BATCH_SIZE: "5",
        NOTIFY_CONCURRENCY: "2",
        LOGIN_MAX_FAILURES_PER_IDENTIFIER: "3",
      },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    const replica = await p.stack.startReplica(await freePort())
    const a = p.urls.publicUrl
    const b = replica.url
    try {
      // Notifications: both dispatchers race for the same rows.
      const n = 150
      const queued = await sql<{ id: string; message_id: string }[]>`
        insert into notification_outbox
          (audit_event_id, kind, recipient, subject, body_text, message_id)
        select gen_random_uuid(), 'test.replicas', 'r' || i || '@example.com', 'Replica test ' || i,
               'body ' || i, '<' || gen_random_uuid() || '@kratos-guard>'
          from generate_series(1, ${n}::int) as i
        returning id, message_id`
      const mine = new Set(queued.map((q) => q.message_id))
      await eventually(async () => {
        const [row] = await sql<{ left: number }[]>`
          select count(*)::int as left from notification_outbox
           where kind = 'test.replicas' and status <> 'sent'`
        expect(row!.left).toBe(0)
      }, 60_000)
      const res = await fetch(p.stack.mailSink!.messagesUrl)
      const got = ((await res.json()) as SinkMessage[]).filter((m) => mine.has(m.messageId ?? ""))
      const perId = new Map<string, number>()
      for (const m of got) perId.set(m.messageId!, (perId.get(m.messageId!) ?? 0) + 1)
      expect(perId.size).toBe(n)
      expect([...perId.values()].every((c) => c === 1)).toBe(true)
      expect(got).toHaveLength(n)

      // Rate limits: failures counted through replica A block the account on replica B too.
      const user = await registerNative(undefined, undefined, p.urls)
      for (let i = 0; i < 3; i++) {
        const wrong = await loginVia(a, user.email, `Wrong-Password-${i}-Guess!`)
        expect(wrong.status).toBe(400)
      }
      const onA = await loginVia(a, user.email, STRONG_PASSWORD)
      expect(onA).toEqual({ status: 400, messages: [LOGIN_THROTTLED] })
      const onB = await loginVia(b, user.email, STRONG_PASSWORD)
      expect(onB).toEqual({ status: 400, messages: [LOGIN_THROTTLED] })
      // And the other way round: another account's failures through B count on A.
      const other = await registerNative(undefined, undefined, p.urls)
      for (let i = 0; i < 3; i++) await loginVia(b, other.email, `Wrong-Password-${i}-Guess!`)
      expect(await loginVia(a, other.email, STRONG_PASSWORD)).toEqual({
        status: 400,
        messages: [LOGIN_THROTTLED],
      })
    } finally {
      await sql.end()
      await replica.stop()
      await p.stop()
    }
  }, 180_000)
})

import { Configuration, FrontendApi } from "@ory/client"
import postgres from "postgres"
import request from "supertest"
import { closeServiceDb, serviceDb } from "../harness/db"
import { SECURITY_TEAM } from "../harness/databases"
import { eventually } from "../harness/eventually"
import {
  enrolTotp,
  loginPassword,
  setManager,
  setRole,
  stepUpTotp,
  submitSettings,
} from "../harness/flows"
import { registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

interface SinkMessage {
  to: string[]
  subject: string
  text: string
  html: string | null
  messageId: string | null
}

interface OutboxRow {
  id: string
  kind: string
  recipient: string
  status: string
  attempts: number
  message_id: string
  last_error: string | null
}

/** What the SMTP sink process received (newest first). */
async function inbox(url = stackInfo().mailMessagesUrl!): Promise<SinkMessage[]> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`inbox: HTTP ${res.status}`)
  return (await res.json()) as SinkMessage[]
}

const api = () => request(stackInfo().publicUrl)

/** A password login from a browser with this User-Agent. */
async function loginFrom(userAgent: string, email: string): Promise<void> {
  const frontend = new FrontendApi(
    new Configuration({
      basePath: stackInfo().publicUrl,
      baseOptions: { headers: { "User-Agent": userAgent } },
    }),
  )
  const { data: flow } = await frontend.createNativeLoginFlow()
  await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password: STRONG_PASSWORD },
  })
}

async function outboxFor(subjectId: string, event: string): Promise<OutboxRow[]> {
  return serviceDb()<OutboxRow[]>`
    select o.id, o.kind, o.recipient, o.status, o.attempts, o.message_id, o.last_error
      from notification_outbox o join audit_events a on a.event_id = o.audit_event_id
     where a.subject_id = ${subjectId} and a.event = ${event}
     order by o.recipient`
}

describe("notifications over SMTP (shared stack)", () => {
  it("when a forced password change is completed, then the manager and each security-team address receive exactly one mail with the outbox row's Message-ID", async () => {
    const admin = await registerNative()
    const { secret } = await enrolTotp(admin.sessionToken)
    await setRole(admin.identityId, "admin")
    const adminToken = await loginPassword(admin.email)
    await stepUpTotp(adminToken, secret)
    const manager = await registerNative()
    const member = await registerNative()
    await setManager(member.identityId, manager.identityId)

    const forced = await api()
      .post(`/api/admin/users/${member.identityId}/force-password-change`)
      .set("X-Session-Token", adminToken)
    expect(forced.status).toBe(200)
    const changed = await submitSettings(member.sessionToken, {
      method: "password",
      password: "Fresh-Lighthouse-Quartz-81!",
    })
    expect(changed.status).toBe(200)
    const ack = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(ack.status).toBe(200)
    // A second ack changes nothing and queues nothing.
    await api().post("/api/auth/ack-password-change").set("X-Session-Token", member.sessionToken)

    const rows = await eventually(async () => {
      const r = await outboxFor(member.identityId, "auth.force_password_change_cleared")
      expect(r.map((x) => x.status)).toEqual(r.map(() => "sent"))
      return r
    }, 20_000)
    expect(rows.map((r) => r.recipient).sort()).toEqual([manager.email, ...SECURITY_TEAM].sort())

    const mails = await eventually(async () => {
      const ids = new Set(rows.map((r) => r.message_id))
      const m = (await inbox()).filter((x) => x.messageId && ids.has(x.messageId))
      expect(m).toHaveLength(rows.length)
      return m
    })
    for (const row of rows) {
      const forRecipient = mails.filter((m) => m.to.includes(row.recipient))
      expect(forRecipient).toHaveLength(1)
      expect(forRecipient[0]!.messageId).toBe(row.message_id)
      expect(forRecipient[0]!.subject).toBe(`${member.email} completed a required password change`)
    }
  })

  it("when a user changes their password, then they receive one 'password changed' mail and the row ends sent", async () => {
    const user = await registerNative()
    const changed = await submitSettings(user.sessionToken, {
      method: "password",
      password: "Granite-Meadow-Violin-57!",
    })
    expect(changed.status).toBe(200)

    const [row] = await eventually(async () => {
      const r = await outboxFor(user.identityId, "auth.password_changed")
      expect(r).toHaveLength(1)
      expect(r[0]).toMatchObject({ kind: "user.password_changed", status: "sent" })
      return r
    }, 20_000)
    const mail = await eventually(async () => {
      const m = (await inbox()).filter((x) => x.to.includes(user.email))
      const changedMails = m.filter((x) => x.subject === "Your password was changed")
      expect(changedMails).toHaveLength(1)
      return changedMails[0]!
    })
    expect(mail.messageId).toBe(row!.message_id)
    expect(mail.text).toContain("If this wasn't you")
    expect(mail.text).not.toContain(STRONG_PASSWORD)
  })

  it("when a user signs in from a second browser, then they get one new-device mail; the first login and known devices send none", async () => {
    const user = await registerNative()
    const firefox =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    const chrome =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
    const chromeNewer = chrome.replace("126.0.0.0", "127.0.0.0")
    await loginFrom(firefox, user.email) // first login: nothing to compare with
    await loginFrom(chrome, user.email) // new device
    await loginFrom(chromeNewer, user.email) // same browser family and OS
    await loginFrom(firefox, user.email) // known

    const rows = await eventually(async () => {
      const r = await outboxFor(user.identityId, "auth.login")
      expect(r).toHaveLength(1)
      expect(r[0]).toMatchObject({ kind: "user.new_device_login", status: "sent" })
      return r
    }, 20_000)
    const mail = await eventually(async () => {
      const m = (await inbox()).filter((x) => x.messageId === rows[0]!.message_id)
      expect(m).toHaveLength(1)
      return m[0]!
    })
    expect(mail.to).toEqual([user.email])
    expect(mail.text).toContain("Chrome 126 on macOS")
  })
})

const OUTBOX_ROWS = (n: number, tag: string) => `
  insert into notification_outbox (audit_event_id, kind, recipient, subject, body_text, message_id)
  select gen_random_uuid(), 'test.${tag}', 'r' || i || '@example.com', 'Test ${tag} ' || i,
         'body ' || i, '<' || gen_random_uuid() || '@kratos-guard>'
    from generate_series(1, ${n}) as i
  returning id, message_id`

describe("notification delivery across outages (private stack)", () => {
  it("when the SMTP server is down, then notifications wait with growing attempts and arrive once after it is back", async () => {
    const p = await startPrivateStack({
      mailSink: "down",
      env: { NOTIFY_POLL_MS: "100", NOTIFY_BACKOFF_BASE_MS: "200", NOTIFY_MAX_ATTEMPTS: "50" },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    try {
      const queued = await sql.unsafe<{ id: string; message_id: string }[]>(OUTBOX_ROWS(5, "down"))
      const ids = queued.map((q) => q.id)

      await eventually(async () => {
        const rows = await sql<OutboxRow[]>`
          select id, status, attempts, last_error from notification_outbox where id in ${sql(ids)}`
        for (const r of rows) {
          expect(r.status).not.toBe("dead")
          expect(r.status).not.toBe("sent")
          expect(r.attempts).toBeGreaterThanOrEqual(3)
          expect(r.last_error).toMatch(/ECONNREFUSED/)
        }
      }, 30_000)

      await p.stack.mailSink!.start()
      await eventually(async () => {
        const rows = await sql<OutboxRow[]>`
          select status from notification_outbox where id in ${sql(ids)}`
        expect(rows.map((r) => r.status)).toEqual(ids.map(() => "sent"))
      }, 30_000)
      const mine = new Set(queued.map((q) => q.message_id))
      const got = (await inbox(p.stack.mailSink!.messagesUrl)).filter((m) =>
        mine.has(m.messageId ?? ""),
      )
      expect(got.map((m) => m.messageId).sort()).toEqual([...mine].sort())
    } finally {
      await sql.end()
      await p.stop()
    }
  })

  it("when the service is killed with -9 mid-dispatch, then after a restart every notification is delivered and none more than once beyond the ones in flight", async () => {
    const concurrency = 2
    const p = await startPrivateStack({
      mailSink: "up",
      env: {
        NOTIFY_POLL_MS: "100",
        NOTIFY_LEASE_SECONDS: "3",
        NOTIFY_CONCURRENCY: String(concurrency),
        NOTIFY_BATCH_SIZE: "10",
      },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    const messagesUrl = p.stack.mailSink!.messagesUrl
    try {
      const n = 400
      const queued = await sql.unsafe<{ id: string; message_id: string }[]>(OUTBOX_ROWS(n, "kill"))
      const mine = new Set(queued.map((q) => q.message_id))
      const received = async () =>
        (await inbox(messagesUrl)).filter((m) => mine.has(m.messageId ?? ""))

      await eventually(async () => expect((await received()).length).toBeGreaterThanOrEqual(20))
      const service = p.stack.service
      const exited = new Promise((r) => service.once("exit", r))
      service.kill("SIGKILL")
      await exited

      const [before] = await sql<{ sent: number }[]>`
        select count(*)::int as sent from notification_outbox
         where kind = 'test.kill' and status = 'sent'`
      expect(before!.sent).toBeLessThan(n) // really mid-dispatch

      await p.stack.restartService()
      await eventually(async () => {
        const [row] = await sql<{ left: number }[]>`
          select count(*)::int as left from notification_outbox
           where kind = 'test.kill' and status <> 'sent'`
        expect(row!.left).toBe(0)
      }, 60_000)

      const got = await received()
      const perId = new Map<string, number>()
      for (const m of got) perId.set(m.messageId!, (perId.get(m.messageId!) ?? 0) + 1)
      expect(perId.size).toBe(n) // every notification delivered
      // Each message is marked sent right after the server's 250, so only a mail accepted in
      // the instant between the 250 and that mark (at most one per concurrent send) can be
      // sent again after the restart, and then with the same Message-ID, recognisable as a
      // resend. Exactly-once is impossible across a crash there; nothing else repeats.
      const twice = [...perId.values()].filter((c) => c > 1)
      expect(twice.every((c) => c === 2)).toBe(true)
      expect(twice.length).toBeLessThanOrEqual(concurrency)
    } finally {
      await sql.end()
      await p.stop()
    }
  })
})

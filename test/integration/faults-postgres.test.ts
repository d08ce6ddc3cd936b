import postgres from "postgres"
import request from "supertest"
import { openDatabase } from "../../db/client"
import { verifyAuditChain } from "../../webhooks/domain/audit"
import { eventually } from "../harness/eventually"
import { registerNative } from "../harness/kratos"
import { startOwnPostgres } from "../harness/own-postgres"
import { startPrivateStack } from "../harness/private-stack"
import { changePasswordVia, type SettingsAnswer as Answer } from "../harness/stack-flows"

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("Postgres restarted under load", () => {
  it("when the service's Postgres stops and starts while requests flow, then readiness reports it, requests fail cleanly, the same process serves again and nothing is half-written", async () => {
    const pg = await startOwnPostgres()
    const p = await startPrivateStack({
      serviceDatabaseUrl: pg.url,
      mailSink: "up",
      env: {
        RECONCILE_AFTER_SECONDS: "5",
        PASSWORD_CHANGES_PER_HOUR: "1000",
        NOTIFY_POLL_MS: "200",
        NOTIFY_BACKOFF_BASE_MS: "200",
        NOTIFY_MAX_ATTEMPTS: "50",
      },
    })
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} })
    const api = () => request(p.urls.publicUrl)
    const passwords: Answer[] = []
    const reads: Answer[] = []
    const health: (Answer & { database?: string })[] = []
    let running = true
    let loops: Promise<void>[] = []
    try {
      const changer = await registerNative(undefined, undefined, p.urls)
      const reader = await registerNative(undefined, undefined, p.urls)
      const pid = p.stack.service.pid

      loops = [
        (async () => {
          for (let i = 1; running; i++) {
            passwords.push(
              await changePasswordVia(p.urls, changer.sessionToken, `Orchard-Lantern-${i}-Quartz!`),
            )
          }
        })(),
        (async () => {
          for (let i = 0; running; i++) {
            const path = i % 2 ? "/api/me/security" : "/api/auth/gate"
            const res = await api()
              .get(path)
              .set("X-Session-Token", reader.sessionToken)
              .catch((err: Error) => ({ status: 0, body: { error: { reason: err.message } } }))
            reads.push({ at: Date.now(), status: res.status, detail: res.body?.error?.reason })
          }
        })(),
        (async () => {
          while (running) {
            const res = await api()
              .get("/health/ready")
              .catch(() => ({ status: 0, body: {} as { checks?: { database?: string } } }))
            health.push({
              at: Date.now(),
              status: res.status,
              database: res.body?.checks?.database,
            })
            await pause(200)
          }
        })(),
      ]

      await eventually(async () => {
        expect(passwords.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1)
        expect(reads.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(2)
      }, 60_000)

      await pg.stop("fast")
      const downAt = Date.now()
      await eventually(async () => {
        const last = health.at(-1)!
        expect(last.at).toBeGreaterThan(downAt)
        expect(last).toMatchObject({ status: 503, database: "unreachable" })
      })
      // Down long enough for every loop to meet the outage more than once.
      await eventually(async () => {
        expect(passwords.filter((a) => a.at > downAt + 500).length).toBeGreaterThanOrEqual(2)
        expect(reads.filter((a) => a.at > downAt + 500).length).toBeGreaterThanOrEqual(2)
      }, 30_000)
      const upAt = Date.now()
      await pg.start()

      // The same process serves again once Postgres is back.
      await eventually(async () => {
        expect(health.at(-1)).toMatchObject({ status: 200, database: "ok" })
        expect(passwords.filter((a) => a.at > upAt && a.status === 200).length).toBeGreaterThan(0)
        expect(reads.filter((a) => a.at > upAt && a.status === 200).length).toBeGreaterThan(0)
      }, 30_000)
      running = false
      await Promise.all(loops)
      expect(p.stack.service.pid).toBe(pid)
      expect(p.stack.service.exitCode).toBeNull()

      // While it was down: clear refusals, never a 500 or a hang.
      const whileDown = (xs: Answer[]) => xs.filter((a) => a.at > downAt + 500 && a.at < upAt)
      for (const a of whileDown(reads)) {
        expect(a).toMatchObject({ status: 503, detail: "database_unavailable" })
      }
      for (const a of whileDown(passwords)) {
        // Refused by the pre-persist hook (in the flow) or by the proxy before Kratos.
        if (a.status === 400) expect(a.detail).toMatch(/not saved/)
        else expect(a.status).toBe(503)
      }
      expect(whileDown(passwords).length).toBeGreaterThan(0)
      for (const a of [...passwords, ...reads, ...health])
        expect([200, 400, 503]).toContain(a.status)

      // Nothing half-written: every change Kratos stored has exactly one audit entry and one
      // notification (the reconciler settles those whose confirmation met the outage), every
      // pending record is settled, every notification is sent, and the hash chain is intact.
      const stored = passwords.filter((a) => a.status === 200).length
      await eventually(async () => {
        const [row] = await sql<{ changed: number; open: number; unsent: number }[]>`
          select
            (select count(*)::int from audit_events
              where subject_id = ${changer.identityId} and event = 'auth.password_changed') as changed,
            (select count(*)::int from pending_changes
              where identity_id = ${changer.identityId} and status = 'pending') as open,
            (select count(*)::int from notification_outbox where status <> 'sent') as unsent`
        expect(row).toEqual({ changed: stored, open: 0, unsent: 0 })
      }, 45_000)
      const pairs = await sql<{ outbox: number }[]>`
        select (select count(*)::int from notification_outbox o
                 where o.audit_event_id = a.event_id) as outbox
          from audit_events a
         where a.subject_id = ${changer.identityId} and a.event = 'auth.password_changed'`
      expect(pairs.map((r) => r.outbox)).toEqual(pairs.map(() => 1))
      const orphans = await sql`
        select 1 from notification_outbox o
         where not exists (select 1 from audit_events a where a.event_id = o.audit_event_id)`
      expect(orphans).toHaveLength(0)
      const database = openDatabase({ databaseUrl: pg.url, poolMax: 1 })
      try {
        expect(await verifyAuditChain(database)).toMatchObject({ ok: true })
      } finally {
        await database.close()
      }
    } finally {
      running = false
      await Promise.allSettled(loops)
      await sql.end().catch(() => {})
      await p.stop()
      await pg.destroy()
    }
  }, 240_000)
})

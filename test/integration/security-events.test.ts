import { randomUUID } from "node:crypto"
import request from "supertest"
import { Webhook } from "standardwebhooks"
import { auditHash } from "../../webhooks/domain/audit"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { startReceiver, type Receiver } from "../harness/event-receiver"
import { staff } from "../harness/flows"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/**
 * Outbound security events against real receivers on loopback (allow-listed for the test
 * stack): what a receiver gets, checked with the `standardwebhooks` verifier, against the audit
 * trail the service wrote.
 */

const api = () => request(stackInfo().publicUrl)
const as = (token: string) => ({ "X-Session-Token": token })

let boss: Awaited<ReturnType<typeof staff>>
let admin: Awaited<ReturnType<typeof staff>>
const receivers: Receiver[] = []

beforeAll(async () => {
  ;[boss, admin] = await Promise.all([staff("super_admin"), staff("admin")])
})
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()))
  await closeServiceDb()
})

async function receiver() {
  const r = await startReceiver()
  receivers.push(r)
  return r
}

async function subscribe(r: Receiver, eventTypes: string[]): Promise<string> {
  const res = await api()
    .post("/api/admin/event-subscribers")
    .set(as(boss.token))
    .send({ name: `test ${randomUUID().slice(0, 8)}`, url: r.url, event_types: eventTypes })
  expect(res.status).toBe(201)
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  r.setSecret(res.body.secret)
  return res.body.subscriber.id as string
}

interface AuditRow {
  event_id: string
  event: string
  seq: string | null
  hash: string | null
  prev_hash: string | null
  subject_id: string | null
}

async function registeredEntries(ids: string[]): Promise<AuditRow[]> {
  return serviceDb()<AuditRow[]>`
    select event_id, event, seq, hash, prev_hash, subject_id from audit_events
     where event = 'auth.registered' and subject_id = any(${ids}::uuid[]) order by seq`
}

const ofSubjects = (r: Receiver, ids: string[]) =>
  r.received.filter((x) => ids.includes(String(x.event.data.entry.subject_id)))

describe("outbound security events", () => {
  it("when people sign up, then a subscriber gets each of their entries once, signed so a Standard Webhooks verifier accepts it, with the entry's id, its chain hash and in chain order", async () => {
    const r = await receiver()
    const subscriber = await subscribe(r, ["auth.registered"])
    const people = await Promise.all([1, 2, 3, 4, 5].map(() => registerNative()))
    const ids = people.map((p) => p.identityId)
    await eventually(async () => expect(ofSubjects(r, ids)).toHaveLength(5), 20_000)
    const entries = await registeredEntries(ids)
    expect(entries).toHaveLength(5)
    for (const e of entries) {
      const got = r.received.filter((x) => x.id === e.event_id)
      expect(got).toHaveLength(1)
      expect(got[0]!.verified).toBe(true)
      expect(got[0]!.event.id).toBe(e.event_id)
      expect(got[0]!.event.type).toBe("auth.registered")
      expect(got[0]!.event.data.chain).toEqual({
        seq: Number(e.seq),
        prev_hash: e.prev_hash,
        hash: e.hash,
      })
    }
    // The receiver can recompute the chain hash from what it got.
    const one = r.received.find((x) => x.id === entries[0]!.event_id)!
    const entry = one.event.data.entry as Record<string, unknown>
    expect(
      auditHash(one.event.data.chain.prev_hash ?? null, {
        eventId: entry.event_id as string,
        dedupKey: entry.dedup_key as string | null,
        event: entry.event as string,
        occurredAt: entry.occurred_at as string,
        actorType: entry.actor_type as string,
        actorId: entry.actor_id as string | null,
        subjectId: entry.subject_id as string | null,
        ip: entry.ip as string | null,
        userAgent: entry.user_agent as string | null,
        flowId: entry.flow_id as string | null,
        requestId: entry.request_id as string | null,
        posture: entry.posture,
        details: entry.details,
      }),
    ).toBe(one.event.data.chain.hash)
    // Everything this receiver got came in chain order, each id once.
    const seqs = r.received.map((x) => x.event.data.chain.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(r.received.map((x) => x.id)).size).toBe(r.received.length)
    expect(r.received.every((x) => x.verified)).toBe(true)
    // A verifier with another secret refuses the same message.
    const other = new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`)
    expect(() =>
      other.verify(one.body, {
        "webhook-id": one.id,
        "webhook-timestamp": one.timestamp,
        "webhook-signature": one.signature,
      }),
    ).toThrow()
    // The console shows them delivered.
    const page = await api()
      .get(`/api/admin/event-subscribers/${subscriber}/deliveries?status=delivered&limit=200`)
      .set(as(admin.token))
    expect(page.status).toBe(200)
    const delivered = new Set(page.body.items.map((d: { event_id: string }) => d.event_id))
    for (const e of entries) expect(delivered.has(e.event_id)).toBe(true)
  })

  it("when a receiver is down for a while, then once it is back it gets every entry of the meantime, in chain order, each once", async () => {
    const r = await receiver()
    const subscriber = await subscribe(r, ["auth.registered"])
    await r.down()
    const people = []
    for (let i = 0; i < 4; i++) people.push(await registerNative())
    const ids = people.map((p) => p.identityId)
    // The head of the lane has failed at least twice while the port was closed.
    await eventually(async () => {
      const [head] = await serviceDb()<{ attempts: number; last_error: string | null }[]>`
        select attempts, last_error from event_deliveries
         where subscriber_id = ${subscriber} and status = 'pending' and attempts > 0`
      expect(head?.attempts).toBeGreaterThanOrEqual(2)
      expect(head?.last_error).toMatch(/ECONNREFUSED/)
    }, 20_000)
    expect(r.received).toHaveLength(0)
    await r.up()
    await eventually(async () => expect(ofSubjects(r, ids)).toHaveLength(4), 30_000)
    const entries = await registeredEntries(ids)
    const got = ofSubjects(r, ids).map((x) => x.id)
    expect(got).toEqual(entries.map((e) => e.event_id))
    expect(new Set(r.received.map((x) => x.id)).size).toBe(r.received.length)
    const seqs = r.received.map((x) => x.event.data.chain.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  })

  it("when the secret is rotated, then messages carry a signature by each secret until the old one expires, and both verifiers accept them", async () => {
    const r = await receiver()
    const subscriber = await subscribe(r, ["auth.registered"])
    const oldSecret = (
      await serviceDb()<{ secret: string }[]>`
      select secret from event_subscribers where id = ${subscriber}`
    )[0]!.secret
    const rotated = await api()
      .post(`/api/admin/event-subscribers/${subscriber}/rotate-secret`)
      .set(as(boss.token))
      .send({ previous_valid_hours: 1 })
    expect(rotated.status).toBe(200)
    expect(rotated.body.secret).not.toBe(oldSecret)
    expect(rotated.body.subscriber.previous_secret_expires_at).not.toBeNull()
    r.setSecret(rotated.body.secret)
    const person = await registerNative()
    await eventually(async () => expect(ofSubjects(r, [person.identityId])).toHaveLength(1), 20_000)
    const msg = ofSubjects(r, [person.identityId])[0]!
    expect(msg.verified).toBe(true)
    expect(msg.signature.split(" ")).toHaveLength(2)
    const headers = {
      "webhook-id": msg.id,
      "webhook-timestamp": msg.timestamp,
      "webhook-signature": msg.signature,
    }
    expect(() => new Webhook(oldSecret).verify(msg.body, headers)).not.toThrow()
    // The secret is never read back.
    const list = await api().get("/api/admin/event-subscribers").set(as(admin.token))
    expect(JSON.stringify(list.body)).not.toContain("whsec_")
    const audited = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events
       where event = 'admin.event_subscriber_secret_rotated' and details->>'subscriber_id' = ${subscriber}`
    expect(audited[0]!.n).toBe(1)
  })

  it("when an admin replays a time range to one subscriber, then it gets those entries again with the same ids, and the replay is audited", async () => {
    const r = await receiver()
    const from = new Date(Date.now() - 1000)
    const people = [await registerNative(), await registerNative()]
    const ids = people.map((p) => p.identityId)
    const to = new Date(Date.now() + 1000)
    // Subscribed only after the sign-ups: nothing is sent until the replay.
    const subscriber = await subscribe(r, ["auth.registered"])
    await new Promise((res) => setTimeout(res, 500))
    expect(ofSubjects(r, ids)).toHaveLength(0)
    const replay = await api()
      .post(`/api/admin/event-subscribers/${subscriber}/replay`)
      .set(as(boss.token))
      .send({ from: from.toISOString(), to: to.toISOString() })
    expect(replay.status).toBe(200)
    expect(replay.body.queued).toBeGreaterThanOrEqual(2)
    await eventually(async () => expect(ofSubjects(r, ids)).toHaveLength(2), 20_000)
    const entries = await registeredEntries(ids)
    expect(ofSubjects(r, ids).map((x) => x.id)).toEqual(entries.map((e) => e.event_id))
    // Again: the same ids, not new ones.
    const again = await api()
      .post(`/api/admin/event-subscribers/${subscriber}/replay`)
      .set(as(boss.token))
      .send({ from: from.toISOString(), to: to.toISOString() })
    expect(again.status).toBe(200)
    await eventually(async () => expect(ofSubjects(r, ids)).toHaveLength(4), 20_000)
    expect(new Set(ofSubjects(r, ids).map((x) => x.id))).toEqual(
      new Set(entries.map((e) => e.event_id)),
    )
    const audited = await serviceDb()<{ actor_id: string }[]>`
      select actor_id from audit_events
       where event = 'admin.event_replay_requested' and details->>'subscriber_id' = ${subscriber}`
    expect(audited.map((a) => a.actor_id)).toEqual([boss.identityId, boss.identityId])
  })

  it("when a subscriber URL points at loopback outside the allow-list, a private or link-local address, or is not http(s), then it is refused with 400 and nothing is stored", async () => {
    const unsafe = [
      "http://127.0.0.2:9/x",
      "http://10.0.0.5/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]:9/x",
      "http://[::ffff:169.254.169.254]/x",
      "http://[fd00::1]/x",
      "http://0.0.0.0:9/x",
      "ftp://example.com/x",
      "http://user:pw@127.0.0.1:9/x",
      "not a url",
    ]
    for (const url of unsafe) {
      const res = await api()
        .post("/api/admin/event-subscribers")
        .set(as(boss.token))
        .send({ name: "unsafe", url, event_types: ["*"] })
      expect([url, res.status, res.body.error?.code]).toEqual([url, 400, "BAD_REQUEST"])
    }
    const stored = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from event_subscribers where url = any(${unsafe})`
    expect(stored[0]!.n).toBe(0)
    // Nor can an existing subscriber be pointed there.
    const r = await receiver()
    const subscriber = await subscribe(r, ["auth.registered"])
    const moved = await api()
      .put(`/api/admin/event-subscribers/${subscriber}`)
      .set(as(boss.token))
      .send({ url: "http://169.254.169.254/" })
    expect(moved.status).toBe(400)
  })

  it("when input is bad or the caller may not, then the answer is a clear 4xx and nothing changes", async () => {
    const r = await receiver()
    const post = (body: object, token = boss.token) =>
      api().post("/api/admin/event-subscribers").set(as(token)).send(body)
    const ok = { name: "x", url: r.url, event_types: ["auth.*"] }
    for (const body of [
      { ...ok, event_types: ["auth.nope"] },
      { ...ok, event_types: ["nope.*"] },
      { ...ok, event_types: [] },
      { ...ok, event_types: "auth.*" },
      { ...ok, name: "" },
      { ...ok, extra: 1 },
      { name: "x", event_types: ["*"] },
    ]) {
      const res = await post(body)
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400])
    }
    expect((await post(ok, admin.token)).status).toBe(403)
    const id = await subscribe(r, ["auth.*"])
    const bad = [
      api().put(`/api/admin/event-subscribers/${id}`).set(as(boss.token)).send({}),
      api()
        .put(`/api/admin/event-subscribers/not-a-uuid`)
        .set(as(boss.token))
        .send({ enabled: false }),
      api()
        .post(`/api/admin/event-subscribers/${id}/replay`)
        .set(as(boss.token))
        .send({ from: "yesterday" }),
      api()
        .post(`/api/admin/event-subscribers/${id}/replay`)
        .set(as(boss.token))
        .send({ from: new Date().toISOString(), to: new Date(Date.now() - 1000).toISOString() }),
      api().get(`/api/admin/event-subscribers/${id}/deliveries?status=lost`).set(as(admin.token)),
      api()
        .post(`/api/admin/event-subscribers/${id}/rotate-secret`)
        .set(as(boss.token))
        .send({ previous_valid_hours: -1 }),
    ]
    for (const res of await Promise.all(bad)) expect(res.status).toBe(400)
    const missing = await api()
      .put(`/api/admin/event-subscribers/${randomUUID()}`)
      .set(as(boss.token))
      .send({ enabled: false })
    expect(missing.status).toBe(404)
    expect(
      (await api().post(`/api/admin/event-deliveries/${randomUUID()}/retry`).set(as(admin.token)))
        .status,
    ).toBe(404)
    expect(
      (await api().delete(`/api/admin/event-subscribers/${id}`).set(as(admin.token))).status,
    ).toBe(403)
    const gone = await api().delete(`/api/admin/event-subscribers/${id}`).set(as(boss.token))
    expect(gone.status).toBe(200)
    const audit = await serviceDb()<{ event: string }[]>`
      select event from audit_events where details->>'subscriber_id' = ${id} order by id`
    expect(audit.map((a) => a.event)).toEqual([
      "admin.event_subscriber_created",
      "admin.event_subscriber_deleted",
    ])
  })

  it("when a delivery fails its last attempt, then it is dead, no longer holds back later events, shows in the console, and an admin's retry sends it with its id", async () => {
    const r = await receiver()
    const subscriber = await subscribe(r, ["auth.registered"])
    r.setMode("fail")
    const first = await registerNative()
    await eventually(async () => {
      const [d] = await serviceDb()<{ attempts: number }[]>`
        select attempts from event_deliveries where subscriber_id = ${subscriber} and attempts > 0`
      expect(d?.attempts).toBeGreaterThanOrEqual(1)
    }, 20_000)
    // As if it had failed all but its last attempt (the stack allows 10): the next one is its last.
    await serviceDb()`
      update event_deliveries set attempts = 9, next_attempt_at = now()
       where subscriber_id = ${subscriber} and status = 'pending'`
    await eventually(async () => {
      const dead = await api()
        .get(`/api/admin/event-subscribers/${subscriber}/deliveries?status=dead`)
        .set(as(admin.token))
      expect(dead.status).toBe(200)
      expect(dead.body.items).toHaveLength(1)
      expect(dead.body.items[0]).toMatchObject({ attempts: 10, last_status: 503 })
    }, 20_000)
    const dead = (
      await api()
        .get(`/api/admin/event-subscribers/${subscriber}/deliveries?status=dead`)
        .set(as(admin.token))
    ).body.items[0] as { id: string; event_id: string }
    const list = await api().get("/api/admin/event-subscribers").set(as(admin.token))
    const mine = list.body.subscribers.find((x: { id: string }) => x.id === subscriber)
    expect(mine.counts).toMatchObject({ dead: 1 })
    r.setMode("ok")
    const second = await registerNative()
    await eventually(async () => expect(ofSubjects(r, [second.identityId])).toHaveLength(1), 20_000)
    expect(ofSubjects(r, [first.identityId])).toHaveLength(0)
    const retried = await api()
      .post(`/api/admin/event-deliveries/${dead.id}/retry`)
      .set(as(admin.token))
    expect(retried.status).toBe(200)
    expect(retried.body.delivery).toMatchObject({ status: "pending", attempts: 0 })
    await eventually(async () => expect(ofSubjects(r, [first.identityId])).toHaveLength(1), 20_000)
    expect(ofSubjects(r, [first.identityId])[0]!.id).toBe(dead.event_id)
    const again = await api()
      .post(`/api/admin/event-deliveries/${dead.id}/retry`)
      .set(as(admin.token))
    expect(again.status).toBe(409)
    const audited = await serviceDb()<{ actor_id: string }[]>`
      select actor_id from audit_events
       where event = 'admin.event_delivery_retried' and details->>'delivery_id' = ${dead.id}`
    expect(audited.map((a) => a.actor_id)).toEqual([admin.identityId])
  })

  it("when a subscriber id is spelled in upper case, then it names the same subscriber; braces, urn:uuid: or bare hex are refused with 400", async () => {
    const r = await receiver()
    const id = await subscribe(r, ["auth.registered"])
    const upper = id.toUpperCase()
    const page = await api()
      .get(`/api/admin/event-subscribers/${upper}/deliveries`)
      .set(as(admin.token))
    expect(page.status).toBe(200)
    const renamed = await api()
      .put(`/api/admin/event-subscribers/${upper}`)
      .set(as(boss.token))
      .send({ name: "renamed" })
    expect(renamed.status).toBe(200)
    expect(renamed.body.subscriber.id).toBe(id)
    for (const spelled of [`{${id}}`, `urn:uuid:${id}`, id.replace(/-/g, "")]) {
      const calls = [
        api()
          .get(`/api/admin/event-subscribers/${encodeURIComponent(spelled)}/deliveries`)
          .set(as(admin.token)),
        api()
          .put(`/api/admin/event-subscribers/${encodeURIComponent(spelled)}`)
          .set(as(boss.token))
          .send({ enabled: false }),
        api()
          .delete(`/api/admin/event-subscribers/${encodeURIComponent(spelled)}`)
          .set(as(boss.token)),
        api()
          .post(`/api/admin/event-subscribers/${encodeURIComponent(spelled)}/rotate-secret`)
          .set(as(boss.token))
          .send({}),
        api()
          .post(`/api/admin/event-subscribers/${encodeURIComponent(spelled)}/replay`)
          .set(as(boss.token))
          .send({ from: new Date(0).toISOString(), to: new Date().toISOString() }),
        api()
          .post(`/api/admin/event-deliveries/${encodeURIComponent(spelled)}/retry`)
          .set(as(admin.token)),
      ]
      for (const res of await Promise.all(calls))
        expect([spelled, res.status]).toEqual([spelled, 400])
    }
    const [row] = await serviceDb()<{ enabled: boolean; name: string }[]>`
      select enabled, name from event_subscribers where id = ${id}`
    expect(row).toEqual({ enabled: true, name: "renamed" })
  })
})

import { createHash, randomBytes } from "node:crypto"
import request from "supertest"
import { inProcessApp } from "../harness/app"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { enrolTotp, staff } from "../harness/flows"
import { kratosClients, registerNative } from "../harness/kratos"
import { changePasswordVia } from "../harness/stack-flows"
import { stackInfo } from "../harness/stack-info"

/**
 * Device API keys against the real Kratos and Postgres: made on the API (by the owner or an
 * admin), shown once, used at the gate like a session, and ended by each event that ends them,
 * each audited. Refused attempts go through an app of their own that trusts X-Forwarded-For,
 * so each test counts its failures against an address of its own.
 */

const api = () => request(stackInfo().publicUrl)
const as = (token: string) => ({ "X-Session-Token": token })
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` })
const KEY = /^kg_([0-9a-f]{16})_([0-9a-f]{64})$/

afterAll(closeServiceDb)

let ipCounter = 0
/** A client address of this test's own (TEST-NET-2), for the per-IP counters. */
const freshIp = () => `198.51.100.${++ipCounter}`

const trusting = inProcessApp({ env: { TRUST_PROXY_HOPS: "1" } })
afterAll(() => trusting.close())
const fromIp = (ip: string) => ({ "X-Forwarded-For": ip })

async function createKey(token: string, body: Record<string, unknown> = { label: "Kiosk" }) {
  const res = await api().post("/api/me/api-keys").set(as(token)).send(body)
  expect(res.status).toBe(201)
  return res.body as { key: string; api_key: { id: string; key_id: string; status: string } }
}

async function keyEvents(subjectId: string) {
  return serviceDb()<{ event: string; actor_type: string; actor_id: string; details: never }[]>`
    select event, actor_type, actor_id, details from audit_events
    where subject_id = ${subjectId} and event like '%api_key%' order by id`
}

const gate = (key: string, extra: Record<string, string> = {}) =>
  api().get("/api/auth/gate").set(bearer(key)).set(extra)

describe("device API keys", () => {
  it("when a member creates a key, then the whole key is answered once, only its hash is stored, the list shows metadata only, and the creation is audited", async () => {
    const member = await registerNative()
    const made = await createKey(member.sessionToken, { label: "Front desk kiosk" })
    const m = KEY.exec(made.key)
    expect(m).not.toBeNull()
    expect(made.api_key).toMatchObject({ key_id: m![1], status: "active", scope: "member" })

    const [row] = await serviceDb()<{ secret_hash: string }[]>`
      select secret_hash from api_keys where id = ${made.api_key.id}`
    expect(row!.secret_hash).toBe(createHash("sha256").update(m![2]!).digest("hex"))
    const stored = JSON.stringify(
      await serviceDb()`select * from api_keys where identity_id = ${member.identityId}`,
    )
    expect(stored).not.toContain(m![2])

    const list = await api().get("/api/me/api-keys").set(as(member.sessionToken))
    expect(list.status).toBe(200)
    expect(JSON.stringify(list.body)).not.toContain(m![2])
    expect(JSON.stringify(list.body)).not.toContain(row!.secret_hash)
    expect(list.body.api_keys).toHaveLength(1)
    expect(Object.keys(list.body.api_keys[0]).sort()).toEqual(
      [
        "created_at",
        "created_by",
        "expires_at",
        "id",
        "key_id",
        "label",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "revoked_reason",
        "scope",
        "status",
      ].sort(),
    )
    expect(list.body).toMatchObject({ max_active: 10, role: "member" })
    const events = await keyEvents(member.identityId)
    expect(events.map((e) => [e.event, e.actor_type, e.actor_id])).toEqual([
      ["auth.api_key_created", "user", member.identityId],
    ])
    expect(JSON.stringify(events)).not.toContain(m![2])
  })

  it("when a key is used at the gate, then it answers as for the owner's session, with the same identity headers and AAL api_key, and the list shows when and from where it was last used", async () => {
    const member = await registerNative()
    const { key, api_key } = await createKey(member.sessionToken)
    const viaSession = await api().get("/api/auth/gate").set(as(member.sessionToken))
    const viaKey = await gate(key)
    expect(viaKey.status).toBe(200)
    expect(viaKey.headers["x-identity-id"]).toBe(member.identityId)
    expect(viaKey.headers["x-identity-role"]).toBe("member")
    expect(viaKey.headers["x-authenticator-assurance-level"]).toBe("api_key")
    expect(viaKey.headers["x-api-key-id"]).toBe(api_key.key_id)
    expect(viaKey.body).toEqual({ ...viaSession.body, aal: "api_key" })

    const list = await api().get("/api/me/api-keys").set(as(member.sessionToken))
    expect(list.body.api_keys[0].last_used_at).not.toBeNull()
    expect(list.body.api_keys[0].last_used_ip).toMatch(/127\.0\.0\.1/)
  })

  it("when a route asks the gate for AAL2, then every API key is refused with aal2_required, while an AAL2 session passes and an AAL1 one is sent to step up", async () => {
    const admin = await staff("admin")
    const { key } = await createKey(admin.token)
    // An admin with a second factor: the key stands for that sign-in where AAL2 is not asked.
    const plain = await gate(key)
    expect(plain.status).toBe(200)
    expect(plain.headers["x-identity-role"]).toBe("admin")

    for (const ask of [
      () => api().get("/api/auth/gate?required_aal=aal2").set(bearer(key)),
      () => gate(key, { "X-Required-AAL": "aal2" }),
    ]) {
      const refused = await ask()
      expect(refused.status).toBe(403)
      expect(refused.body.error.reason).toBe("aal2_required")
      expect(refused.headers["x-authenticator-assurance-level"]).toBe("api_key")
    }
    const session = await api().get("/api/auth/gate?required_aal=aal2").set(as(admin.token))
    expect(session.status).toBe(200)
    const member = await registerNative()
    const aal1 = await api().get("/api/auth/gate").set(as(member.sessionToken)).set({
      "X-Required-AAL": "aal2",
    })
    expect(aal1.status).toBe(403)
    expect(aal1.body.error.reason).toBe("aal2_required")
    const bad = await gate(key, { "X-Required-AAL": "aal9" })
    expect(bad.status).toBe(400)
  })

  it("when a key's scope is below its owner's role, then the gate reports the scope; a scope above the role is refused", async () => {
    const admin = await staff("admin")
    const { key } = await createKey(admin.token, { label: "Wall display", scope: "member" })
    const res = await gate(key)
    expect(res.status).toBe(200)
    expect(res.headers["x-identity-role"]).toBe("member")
    expect(res.body.role).toBe("member")

    const member = await registerNative()
    const above = await api()
      .post("/api/me/api-keys")
      .set(as(member.sessionToken))
      .send({ label: "Sneaky", scope: "admin" })
    expect(above.status).toBe(403)
    expect(above.body.error.reason).toBe("scope_above_role")
  })

  it("when a key has expired, then the gate answers 401 api_key_expired", async () => {
    const member = await registerNative()
    const soon = new Date(Date.now() + 86_400_000).toISOString()
    const { key, api_key } = await createKey(member.sessionToken, {
      label: "Temp",
      expires_at: soon,
    })
    expect((await gate(key)).status).toBe(200)
    await serviceDb()`update api_keys set expires_at = now() - interval '1 second'
      where id = ${api_key.id}`
    const res = await gate(key)
    expect(res.status).toBe(401)
    expect(res.body.error.reason).toBe("api_key_expired")
    const past = await api()
      .post("/api/me/api-keys")
      .set(as(member.sessionToken))
      .send({ label: "Old", expires_at: new Date(Date.now() - 1000).toISOString() })
    expect(past.status).toBe(400)
  })

  it("when the owner revokes a key, then the gate answers 401 api_key_revoked, the revocation is audited once, and revoking it again changes nothing", async () => {
    const member = await registerNative()
    const { key, api_key } = await createKey(member.sessionToken)
    const other = await createKey(member.sessionToken, { label: "Other" })
    const res = await api().delete(`/api/me/api-keys/${api_key.id}`).set(as(member.sessionToken))
    expect(res.status).toBe(200)
    expect(res.body.revoked).toMatchObject({ status: "revoked", revoked_reason: "owner" })
    const refused = await gate(key)
    expect(refused.status).toBe(401)
    expect(refused.body.error.reason).toBe("api_key_revoked")
    expect((await gate(other.key)).status).toBe(200)
    const again = await api().delete(`/api/me/api-keys/${api_key.id}`).set(as(member.sessionToken))
    expect(again.status).toBe(200)
    const events = await keyEvents(member.identityId)
    expect(events.filter((e) => e.event === "auth.api_key_revoked")).toHaveLength(1)

    // Someone else's key is not found, whoever asks.
    const stranger = await registerNative()
    const theirs = await api()
      .delete(`/api/me/api-keys/${other.api_key.id}`)
      .set(as(stranger.sessionToken))
    expect(theirs.status).toBe(404)
    expect((await gate(other.key)).status).toBe(200)
  })

  it("when an admin creates and revokes a person's key on the admin API, then the key works until revoked, and both are audited with the admin as actor", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const made = await api()
      .post(`/api/admin/users/${member.identityId}/api-keys`)
      .set(as(admin.token))
      .send({ label: "Scanner 3" })
    expect(made.status).toBe(201)
    expect(made.body.api_key.created_by).toBe(admin.identityId)
    const res = await gate(made.body.key)
    expect(res.headers["x-identity-id"]).toBe(member.identityId)
    const list = await api()
      .get(`/api/admin/users/${member.identityId}/api-keys`)
      .set(as(admin.token))
    expect(list.status).toBe(200)
    expect(list.body.api_keys.map((k: { id: string }) => k.id)).toEqual([made.body.api_key.id])
    const revoked = await api()
      .delete(`/api/admin/users/${member.identityId}/api-keys/${made.body.api_key.id}`)
      .set(as(admin.token))
    expect(revoked.status).toBe(200)
    expect(revoked.body.revoked.revoked_reason).toBe("admin")
    expect((await gate(made.body.key)).status).toBe(401)
    const events = await keyEvents(member.identityId)
    expect(events.map((e) => [e.event, e.actor_type, e.actor_id])).toEqual([
      ["admin.api_key_created", "admin", admin.identityId],
      ["admin.api_key_revoked", "admin", admin.identityId],
    ])

    // An AAL1 admin session, and a plain admin acting on another admin, are refused.
    const aal1 = await staff("admin", "aal1")
    const refused = await api()
      .post(`/api/admin/users/${member.identityId}/api-keys`)
      .set(as(aal1.token))
      .send({ label: "x" })
    expect(refused.status).toBe(403)
    const onAdmin = await api()
      .post(`/api/admin/users/${aal1.identityId}/api-keys`)
      .set(as(admin.token))
      .send({ label: "x" })
    expect(onAdmin.status).toBe(403)
  })

  it("when the owner changes their password, then all their keys are revoked, audited once as password_changed", async () => {
    const member = await registerNative()
    const a = await createKey(member.sessionToken, { label: "A" })
    const b = await createKey(member.sessionToken, { label: "B" })
    const changed = await changePasswordVia(
      stackInfo(),
      member.sessionToken,
      "Quartz-Ferry-Window-73!",
    )
    expect(changed.status).toBe(200)
    // Kratos calls the post-persist hook without waiting for it.
    await eventually(async () => {
      for (const k of [a, b]) {
        const res = await gate(k.key)
        expect(res.status).toBe(401)
        expect(res.body.error.reason).toBe("api_key_revoked")
      }
    })
    const events = await keyEvents(member.identityId)
    const cascade = events.filter((e) => e.event === "auth.api_keys_revoked")
    expect(cascade).toHaveLength(1)
    expect(cascade[0]).toMatchObject({
      actor_type: "user",
      details: { reason: "password_changed" },
    })
    expect((cascade[0]!.details as { key_ids: string[] }).key_ids.sort()).toEqual(
      [a.api_key.key_id, b.api_key.key_id].sort(),
    )
  })

  it("when an admin resets a person's 2FA, then their keys are revoked, audited as 2fa_reset with the admin as actor", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    await enrolTotp(member.sessionToken)
    const { key } = await createKey(member.sessionToken)
    const reset = await api()
      .post(`/api/admin/users/${member.identityId}/reset-2fa`)
      .set(as(admin.token))
    expect(reset.status).toBe(200)
    expect((await gate(key)).status).toBe(401)
    const cascade = (await keyEvents(member.identityId)).filter(
      (e) => e.event === "auth.api_keys_revoked",
    )
    expect(cascade).toHaveLength(1)
    expect(cascade[0]).toMatchObject({
      actor_type: "admin",
      actor_id: admin.identityId,
      details: { reason: "2fa_reset" },
    })
  })

  it("when an admin deactivates a person, then their keys are revoked and stay revoked after reactivation, audited as deactivated", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const { key } = await createKey(member.sessionToken)
    const off = await api()
      .post(`/api/admin/users/${member.identityId}/deactivate`)
      .set(as(admin.token))
    expect(off.status).toBe(200)
    expect((await gate(key)).status).toBe(401)
    await api()
      .post(`/api/admin/users/${member.identityId}/reactivate`)
      .set(as(admin.token))
      .expect(200)
    const res = await gate(key)
    expect(res.status).toBe(401)
    expect(res.body.error.reason).toBe("api_key_revoked")
    const cascade = (await keyEvents(member.identityId)).filter(
      (e) => e.event === "auth.api_keys_revoked",
    )
    expect(cascade).toHaveLength(1)
    expect(cascade[0]).toMatchObject({
      actor_id: admin.identityId,
      details: { reason: "deactivated" },
    })
  })

  it("when the session's sign-in is older than Kratos's privileged age, then creating a key (one's own, or an admin's for a person) is refused with reauthentication_required and stores nothing, and after signing in again (refresh) it is made", async () => {
    const strict = inProcessApp({ env: { KRATOS_PRIVILEGED_SESSION_MAX_AGE: "1s" } })
    try {
      const admin = await staff("admin")
      const member = await registerNative()
      const { frontend } = kratosClients()
      const { data: session } = await frontend.toSession({ xSessionToken: member.sessionToken })
      // Past the 1 s this app allows (the sign-in time is Kratos's, not a timer of ours).
      const age = Date.now() - Date.parse(session.authenticated_at!)
      if (age < 1100) await new Promise((r) => setTimeout(r, 1100 - age))
      const refused = await request(strict.app)
        .post("/api/me/api-keys")
        .set(as(member.sessionToken))
        .set("X-Kratos-Guard-CSRF", "1")
        .send({ label: "Kiosk" })
      expect(refused.status).toBe(403)
      expect(refused.body.error).toMatchObject({ reason: "reauthentication_required" })
      const byAdmin = await request(strict.app)
        .post(`/api/admin/users/${member.identityId}/api-keys`)
        .set(as(admin.token))
        .set("X-Kratos-Guard-CSRF", "1")
        .send({ label: "Kiosk" })
      expect(byAdmin.status).toBe(403)
      expect(byAdmin.body.error).toMatchObject({ reason: "reauthentication_required" })
      const [none] = await serviceDb()<{ n: number }[]>`select count(*)::int as n from api_keys
        where identity_id = ${member.identityId}`
      expect(none!.n).toBe(0)

      // Signing in again on the same session (Kratos's refresh) makes the sign-in recent.
      const { data: flow } = await frontend.createNativeLoginFlow({
        refresh: true,
        xSessionToken: member.sessionToken,
      })
      await frontend.updateLoginFlow({
        flow: flow.id,
        xSessionToken: member.sessionToken,
        updateLoginFlowBody: {
          method: "password",
          identifier: member.email,
          password: member.password,
        },
      })
      const made = await request(strict.app)
        .post("/api/me/api-keys")
        .set(as(member.sessionToken))
        .set("X-Kratos-Guard-CSRF", "1")
        .send({ label: "Kiosk" })
      expect(made.status).toBe(201)
      expect(made.body.key).toMatch(KEY)
    } finally {
      await strict.close()
    }
  })

  it("when an admin holds 3 active keys, then a 4th is refused with api_key_limit until one is revoked", async () => {
    const admin = await staff("admin")
    const made = []
    for (const label of ["One", "Two", "Three"]) made.push(await createKey(admin.token, { label }))
    const fourth = await api().post("/api/me/api-keys").set(as(admin.token)).send({ label: "Four" })
    expect(fourth.status).toBe(409)
    expect(fourth.body.error).toMatchObject({ reason: "api_key_limit", limit: 3 })
    await api().delete(`/api/me/api-keys/${made[0]!.api_key.id}`).set(as(admin.token)).expect(200)
    await createKey(admin.token, { label: "Four" })
    const [row] = await serviceDb()<{ n: number }[]>`select count(*)::int as n from api_keys
      where identity_id = ${admin.identityId} and revoked_at is null`
    expect(row!.n).toBe(3)
  })

  it("when keys are malformed, unknown, carry a wrong secret for a real id, or come with odd headers, then the gate answers 401 (never a 5xx) and a valid key still works", async () => {
    const member = await registerNative()
    const { key, api_key } = await createKey(member.sessionToken)
    const ip = freshIp()
    const wrongSecret = `kg_${api_key.key_id}_${randomBytes(32).toString("hex")}`
    const keys = [
      "kg_",
      "kg_x",
      `kg_${api_key.key_id}`,
      `kg_${api_key.key_id}_`,
      wrongSecret,
      `kg_${api_key.key_id}_${key.slice(-64).toUpperCase()}`,
      `kg_${api_key.key_id.toUpperCase()}_${key.slice(-64)}`,
      `${key}x`,
      `${key} trailing`,
      `kg_${"0".repeat(16)}_${key.slice(-64)}`,
      `kg_${"a".repeat(6000)}`,
      "kg_%00%0a",
      `kg_${api_key.key_id}_${key.slice(-64)}\u00a0`,
    ]
    const app = request(trusting.app)
    for (const k of keys) {
      const res = await app
        .get("/api/auth/gate")
        .set(fromIp(ip))
        .set("Authorization", `Bearer ${k}`)
      expect([k.slice(0, 40), res.status]).toEqual([k.slice(0, 40), 401])
      expect(res.body.error.reason).toBe("api_key_invalid")
      expect(res.headers["x-identity-id"]).toBeUndefined()
    }
    // Two Authorization headers, a key beside a session, a lower-case scheme.
    // Node sends an array as one header line per value.
    const twice = await app
      .get("/api/auth/gate")
      .set(fromIp(ip))
      .set("Authorization", [`Bearer ${key}`, `Bearer ${key}`] as unknown as string)
    expect(twice.status).toBe(401)
    const both = await app
      .get("/api/auth/gate")
      .set(fromIp(ip))
      .set(bearer(key))
      .set(as(member.sessionToken))
    expect(both.status).toBe(401)
    const lower = await app
      .get("/api/auth/gate")
      .set(fromIp(ip))
      .set("Authorization", `bearer ${key}`)
    expect(lower.status).toBe(200)
    // Not our scheme: an app's own bearer credential is left to the session gate (no session).
    const theirs = await app.get("/api/auth/gate").set(fromIp(ip)).set(bearer("eyJhbGciOi.x.y"))
    expect(theirs.status).toBe(401)
    expect(theirs.body.error.reason).toBe("session_required")
    const fine = await app.get("/api/auth/gate").set(fromIp(freshIp())).set(bearer(key))
    expect(fine.status).toBe(200)
  })

  it("when one address keeps sending bad keys, then it gets 429 with Retry-After (even for a good key) while other addresses go on; a key over its calls per minute gets 429", async () => {
    const limited = inProcessApp({
      env: {
        TRUST_PROXY_HOPS: "1",
        API_KEY_MAX_FAILURES_PER_IP: "3",
        API_KEY_REQUESTS_PER_MINUTE: "4",
      },
    })
    try {
      const member = await registerNative()
      const { key } = await createKey(member.sessionToken)
      const app = request(limited.app)
      const ip = freshIp()
      for (let i = 0; i < 3; i++) {
        const res = await app
          .get("/api/auth/gate")
          .set(fromIp(ip))
          .set(bearer(`kg_bad${i}`))
        expect(res.status).toBe(401)
      }
      const blocked = await app.get("/api/auth/gate").set(fromIp(ip)).set(bearer(key))
      expect(blocked.status).toBe(429)
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0)
      const other = freshIp()
      const statuses = []
      for (let i = 0; i < 5; i++) {
        statuses.push((await app.get("/api/auth/gate").set(fromIp(other)).set(bearer(key))).status)
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429])
    } finally {
      await limited.close()
    }
  })
})

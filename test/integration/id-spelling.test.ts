import { randomUUID } from "node:crypto"
import fc from "fast-check"
import request from "supertest"
import { inProcessApp } from "../harness/app"
import { closeServiceDb, serviceDb } from "../harness/db"
import { loginPassword, staff } from "../harness/flows"
import { appRoutes } from "../harness/hostile"
import { kratosClients, registerNative } from "../harness/kratos"
import { kratosState, upper } from "../harness/kratos-state"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)

/** What each admin route that names a person does when the admin names themselves. */
const SELF: Record<string, { refused: boolean; body?: object }> = {
  "PUT /api/admin/users/:id/role": { refused: true, body: { role: "member" } },
  "POST /api/admin/users/:id/reset-2fa": { refused: true },
  "POST /api/admin/users/:id/deactivate": { refused: true },
  "POST /api/admin/users/:id/reactivate": { refused: true },
  // Allowed on oneself (one's own record, one's own sessions, one's own password); the
  // manager link refuses a person as their own manager (checked below in every spelling).
  "GET /api/admin/users/:id": { refused: false },
  "PUT /api/admin/users/:id/manager": { refused: false },
  "POST /api/admin/users/:id/force-password-change": { refused: false },
  "POST /api/admin/users/:id/revoke-sessions": { refused: false },
  // One's own device keys, as on one's own Security page (a key's scope is at most one's role).
  "GET /api/admin/users/:id/api-keys": { refused: false },
  "POST /api/admin/users/:id/api-keys": { refused: false },
  "DELETE /api/admin/users/:id/api-keys/:keyId": { refused: false },
}

function call(name: string, id: string, token: string, body?: object) {
  const [method, template] = name.split(" ") as [string, string]
  const path = template.replace(":id", encodeURIComponent(id)).replace(":keyId", randomUUID())
  const req =
    method === "GET"
      ? api().get(path)
      : method === "PUT"
        ? api().put(path)
        : method === "DELETE"
          ? api().delete(path)
          : api().post(path)
  const sent = req.set("X-Session-Token", token)
  return method === "GET" || method === "DELETE" ? sent : sent.send(body ?? SELF[name]?.body ?? {})
}

/** Audit entries the admin wrote about this person. */
async function adminEntriesAbout(actorId: string, subjectId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events
    where actor_type = 'admin' and actor_id = ${actorId} and subject_id = ${subjectId}
      and event <> 'admin.user_viewed' order by id`
  return rows.map((r) => r.event)
}

/** The other spellings of a UUID that Kratos's parser (gofrs/uuid) also takes. */
const otherSpellings = (id: string) => [
  `{${id}}`,
  `urn:uuid:${id}`,
  id.replace(/-/g, ""),
  `{${upper(id)}}`,
]

describe("ids in another spelling", () => {
  let routes: string[]
  beforeAll(async () => {
    const { app, close } = inProcessApp({})
    routes = appRoutes(app)
    await close()
  })

  it("when the app's routes are listed, then every admin route that names a person is in the self-action table", () => {
    const named = routes.filter((r) => / \/api\/admin\/users\/:id/.test(r)).sort()
    expect(named).toEqual(Object.keys(SELF).sort())
  })

  it("when a super admin resets 2FA for, demotes or deactivates themselves with their id in upper case, then each is 403 and Kratos holds what it held", async () => {
    const boss = await staff("super_admin")
    const before = await kratosState(boss.identityId)
    for (const name of [
      "POST /api/admin/users/:id/reset-2fa",
      "PUT /api/admin/users/:id/role",
      "POST /api/admin/users/:id/deactivate",
    ]) {
      const res = await call(name, upper(boss.identityId), boss.token)
      expect([name, res.status]).toEqual([name, 403])
    }
    const after = await kratosState(boss.identityId)
    expect(after).toEqual(before)
    expect(after.identity.credentials?.totp).toBeDefined()
    expect(after.identity.state).toBe("active")
    expect((after.identity.metadata_public as { role: string }).role).toBe("super_admin")
    expect(after.sessions.filter((s) => s.active).length).toBeGreaterThan(0)
    expect(await adminEntriesAbout(boss.identityId, boss.identityId)).toEqual([])
    // The admin's own session still works: nothing signed them out.
    const who = await api().get("/sessions/whoami").set("X-Session-Token", boss.token)
    expect(who.status).toBe(200)
  })

  it("when the actor's own id comes in any mix of cases, then every self-refusing admin route refuses it and Kratos is unchanged", async () => {
    const boss = await staff("super_admin")
    const before = await kratosState(boss.identityId)
    const refusing = Object.keys(SELF).filter((n) => SELF[n]?.refused)
    const seen: Record<string, number> = {}
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...refusing),
        fc.mixedCase(fc.constant(boss.identityId)),
        async (name, spelled) => {
          const res = await call(name, spelled, boss.token)
          expect([name, spelled, res.status, res.body.error?.code]).toEqual([
            name,
            spelled,
            403,
            "FORBIDDEN",
          ])
          seen[name] = (seen[name] ?? 0) + 1
        },
      ),
      { numRuns: 60 },
    )
    expect(Object.keys(seen).sort()).toEqual([...refusing].sort())
    expect(await kratosState(boss.identityId)).toEqual(before)
    expect(await adminEntriesAbout(boss.identityId, boss.identityId)).toEqual([])
  })

  it("when a person is named as their own manager in any mix of cases, then it is 400 and Kratos keeps no manager link", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const before = await kratosState(member.identityId)
    await fc.assert(
      fc.asyncProperty(
        fc.mixedCase(fc.constant(member.identityId)),
        fc.mixedCase(fc.constant(member.identityId)),
        async (inPath, inBody) => {
          const res = await call("PUT /api/admin/users/:id/manager", inPath, admin.token, {
            manager_id: inBody,
          })
          expect([inPath, inBody, res.status]).toEqual([inPath, inBody, 400])
        },
      ),
      { numRuns: 30 },
    )
    expect(await kratosState(member.identityId)).toEqual(before)
  })

  it("when an admin names a person in upper case, then the change lands on that person and the audit trail and answer carry the canonical id", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const manager = await registerNative()

    const detail = await call("GET /api/admin/users/:id", upper(member.identityId), admin.token)
    expect([detail.status, detail.body.id]).toEqual([200, member.identityId])

    const linked = await call(
      "PUT /api/admin/users/:id/manager",
      upper(member.identityId),
      admin.token,
      {
        manager_id: upper(manager.identityId),
      },
    )
    expect([linked.status, linked.body]).toEqual([200, { manager_id: manager.identityId }])
    const { data } = await kratosClients().identities.getIdentity({ id: member.identityId })
    expect(data.metadata_admin).toMatchObject({ manager_id: manager.identityId })

    const forced = await call(
      "POST /api/admin/users/:id/force-password-change",
      upper(member.identityId),
      admin.token,
    )
    expect(forced.status).toBe(200)
    const revoked = await call(
      "POST /api/admin/users/:id/revoke-sessions",
      upper(member.identityId),
      admin.token,
    )
    expect(revoked.status).toBe(200)
    const who = await api().get("/sessions/whoami").set("X-Session-Token", member.sessionToken)
    expect(who.status).toBe(401)

    const rows = await serviceDb()<{ event: string; subject_id: string; details: unknown }[]>`
      select event, subject_id::text, details from audit_events
      where actor_type = 'admin' and actor_id = ${admin.identityId}
        and event <> 'admin.user_viewed' order by id`
    expect(rows.map((r) => [r.event, r.subject_id])).toEqual([
      ["admin.manager_changed", member.identityId],
      ["auth.force_password_change_required", member.identityId],
      ["admin.sessions_revoked", member.identityId],
    ])
    expect(rows[0]!.details).toMatchObject({ to: manager.identityId })
  })

  it("when the audit log is filtered by an actor or subject in upper case, then it finds the same entries and records the filter in its canonical spelling", async () => {
    const boss = await staff("super_admin")
    const member = await registerNative()
    const promoted = await api()
      .put(`/api/admin/users/${member.identityId}/role`)
      .set("X-Session-Token", boss.token)
      .send({ role: "admin" })
    expect(promoted.status).toBe(200)

    const page = (q: string) =>
      api().get(`/api/admin/audit?${q}`).set("X-Session-Token", boss.token)
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((i) => i.id)
    for (const [field, id] of [
      ["actor", boss.identityId],
      ["subject", member.identityId],
    ] as const) {
      const lower = await page(`${field}=${id}&event=admin.role_changed`)
      const shouted = await page(`${field}=${upper(id)}&event=admin.role_changed`)
      expect([lower.status, shouted.status]).toEqual([200, 200])
      expect(ids(lower)).toHaveLength(1)
      expect(ids(shouted)).toEqual(ids(lower))
    }
    const views = await serviceDb()<{ details: { query: Record<string, unknown> } }[]>`
      select details from audit_events
      where actor_id = ${boss.identityId} and event = 'admin.viewed' order by id`
    const filters = views.map((v) => v.details.query.actor ?? v.details.query.subject)
    expect(filters).toEqual([
      boss.identityId,
      boss.identityId,
      member.identityId,
      member.identityId,
    ])
  })

  it("when an id is spelled with braces, urn:uuid: or bare hex, then Kratos finds the person but the service answers 400 before acting", async () => {
    const boss = await staff("super_admin")
    const member = await registerNative()
    const { identities } = kratosClients()
    for (const spelled of otherSpellings(member.identityId)) {
      const { data } = await identities.getIdentity({ id: spelled })
      expect(data.id).toBe(member.identityId)
    }
    const beforeBoss = await kratosState(boss.identityId)
    const beforeMember = await kratosState(member.identityId)
    for (const spelled of [
      ...otherSpellings(boss.identityId),
      ...otherSpellings(member.identityId),
    ]) {
      for (const name of Object.keys(SELF)) {
        const res = await call(name, spelled, boss.token)
        expect([name, spelled, res.status]).toEqual([name, spelled, 400])
      }
      const manager = await call(
        "PUT /api/admin/users/:id/manager",
        member.identityId,
        boss.token,
        {
          manager_id: spelled,
        },
      )
      expect([spelled, manager.status]).toEqual([spelled, 400])
      const audit = await api()
        .get(`/api/admin/audit?actor=${encodeURIComponent(spelled)}`)
        .set("X-Session-Token", boss.token)
      expect([spelled, audit.status]).toEqual([spelled, 400])
    }
    expect(await kratosState(boss.identityId)).toEqual(beforeBoss)
    expect(await kratosState(member.identityId)).toEqual(beforeMember)
    expect(await adminEntriesAbout(boss.identityId, member.identityId)).toEqual([])
  })

  it("when a person revokes their current session by its id in upper case, then it is refused as the current session and they stay signed in", async () => {
    const user = await registerNative()
    const { data: session } = await kratosClients().frontend.toSession({
      xSessionToken: user.sessionToken,
    })
    const res = await api()
      .delete(`/api/me/sessions/${upper(session.id)}`)
      .set("X-Session-Token", user.sessionToken)
    expect([res.status, res.body.error?.reason]).toEqual([400, "current_session"])
    const who = await api().get("/sessions/whoami").set("X-Session-Token", user.sessionToken)
    expect(who.status).toBe(200)
  })

  it("when a recovery request is named in another spelling, then upper and mixed case name the same request (its own requester still can't approve it) and Kratos's other spellings are 400 with nothing changed", async () => {
    const boss = await staff("super_admin")
    // The requester: a super admin with an AAL2 session left and an AAL1 one that asks.
    const person = await staff("super_admin")
    await kratosClients().identities.patchIdentity({
      id: person.identityId,
      jsonPatch: [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }],
    })
    const asking = await loginPassword(person.email)
    await api().post("/api/me/recovery-request/code").set("X-Session-Token", asking).expect(202)
    const [mail] = await serviceDb()<{ body_text: string }[]>`
      select body_text from notification_outbox
      where recipient = ${person.email} and kind = 'user.recovery_request_code'`
    const code = /Your code is (\d{6})/.exec(mail!.body_text)![1]
    const made = await api()
      .post("/api/me/recovery-request")
      .set("X-Session-Token", asking)
      .send({ code, reason: "Lost my phone at the airport." })
      .expect(201)
    const id = made.body.request.id as string
    const before = await kratosState(person.identityId)
    const act = (what: string, spelled: string, token: string) =>
      api()
        .post(`/api/admin/recovery-requests/${encodeURIComponent(spelled)}/${what}`)
        .set("X-Session-Token", token)
    for (const spelled of otherSpellings(id)) {
      for (const what of ["approve", "deny"]) {
        const res = await act(what, spelled, boss.token)
        expect([spelled, what, res.status]).toEqual([spelled, what, 400])
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.mixedCase(fc.constant(id)), async (spelled) => {
        const res = await act("approve", spelled, person.token)
        expect([spelled, res.status, res.body.error?.reason]).toEqual([spelled, 403, "own_request"])
      }),
      { numRuns: 10 },
    )
    expect(await kratosState(person.identityId)).toEqual(before)
    const first = await act("approve", upper(id), boss.token)
    expect([first.status, first.body.request?.id]).toEqual([200, id])
    expect(first.body.request.approvals).toEqual([
      expect.objectContaining({ admin_id: boss.identityId }),
    ])
  })
})

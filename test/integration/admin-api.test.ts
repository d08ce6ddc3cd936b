import request from "supertest"
import { createKratosAdmin } from "../../webhooks/kratos/admin"
import { closeServiceDb, serviceDb } from "../harness/db"
import { enrolRecoveryCodes, enrolTotp, loginPassword, setManager, staff } from "../harness/flows"
import { kratosClients, registerNative, uniqueEmail } from "../harness/kratos"
import { SECURITY_TEAM } from "../harness/databases"
import { eventually } from "../harness/eventually"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)

async function adminEventsAll(subjectId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events where subject_id = ${subjectId} order by id`
  return rows.map((r) => r.event)
}

async function adminEvents(subjectId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events where subject_id = ${subjectId} and actor_type = 'admin' order by id`
  return rows.map((r) => r.event)
}

describe("admin API: who may call it", () => {
  it("when an admin's session is only AAL1, then every admin route answers 403 aal2_required and changes nothing", async () => {
    const admin = await staff("admin", "aal1")
    const member = await registerNative()
    const calls = [
      api().get("/api/admin/users"),
      api().get(`/api/admin/users/${member.identityId}`),
      api().post("/api/admin/users").send({ email: uniqueEmail() }),
      api().put(`/api/admin/users/${member.identityId}/role`).send({ role: "admin" }),
      api().put(`/api/admin/users/${member.identityId}/manager`).send({ manager_id: null }),
      api().post(`/api/admin/users/${member.identityId}/force-password-change`),
      api().post(`/api/admin/users/${member.identityId}/reset-2fa`),
      api().post(`/api/admin/users/${member.identityId}/revoke-sessions`),
      api().post(`/api/admin/users/${member.identityId}/deactivate`),
      api().post(`/api/admin/users/${member.identityId}/reactivate`),
      api().get("/api/admin/policy"),
      api().put("/api/admin/policy").send({ sso_required: false }),
    ]
    for (const call of calls) {
      const res = await call.set("X-Session-Token", admin.token)
      expect([res.status, res.body.error?.reason]).toEqual([403, "aal2_required"])
    }
    expect(await adminEvents(member.identityId)).toEqual([])
  })

  it("when a member calls an admin route, then it is 403 admin_required", async () => {
    const member = await registerNative()
    const res = await api().get("/api/admin/users").set("X-Session-Token", member.sessionToken)
    expect([res.status, res.body.error.reason]).toEqual([403, "admin_required"])
  })
})

describe("admin API: managing people", () => {
  it("when an admin resets a member's 2FA, then Kratos has no second factor left, their sessions are gone, and it is audited", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    await enrolTotp(member.sessionToken)
    await enrolRecoveryCodes(member.sessionToken)

    const res = await api()
      .post(`/api/admin/users/${member.identityId}/reset-2fa`)
      .set("X-Session-Token", admin.token)
    expect(res.status).toBe(200)
    expect(res.body.removed).toEqual(expect.arrayContaining(["totp", "lookup_secret"]))
    const after = await createKratosAdmin(stackInfo().kratosAdminUrl).summary(member.identityId)
    expect(after).toMatchObject({ totp: null, lookupSecret: null, webauthn: [] })
    const who = await api().get("/sessions/whoami").set("X-Session-Token", member.sessionToken)
    expect(who.status).toBe(401)
    expect(await adminEvents(member.identityId)).toContain("admin.2fa_reset")
  })

  it("when an admin tries to make someone super_admin or to change their own role, then it is refused", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const up = await api()
      .put(`/api/admin/users/${member.identityId}/role`)
      .set("X-Session-Token", admin.token)
      .send({ role: "super_admin" })
    expect(up.status).toBe(403)
    const own = await api()
      .put(`/api/admin/users/${admin.identityId}/role`)
      .set("X-Session-Token", admin.token)
      .send({ role: "member" })
    expect(own.status).toBe(403)
    const { data } = await kratosClients().identities.getIdentity({ id: member.identityId })
    expect((data.metadata_public as { role: string }).role).toBe("member")
  })

  it("when a super admin grants admin, then the role is set and audited with them as actor", async () => {
    const boss = await staff("super_admin")
    const member = await registerNative()
    const res = await api()
      .put(`/api/admin/users/${member.identityId}/role`)
      .set("X-Session-Token", boss.token)
      .send({ role: "admin" })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ previous: "member", role: "admin", changed: true })
    const rows = await serviceDb()<{ actor_id: string }[]>`
      select actor_id from audit_events where subject_id = ${member.identityId} and event = 'admin.role_changed'`
    expect(rows.map((r) => r.actor_id)).toEqual([boss.identityId])
  })

  it("when an admin deactivates a member, then they are signed out and can't sign in until reactivated", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const off = await api()
      .post(`/api/admin/users/${member.identityId}/deactivate`)
      .set("X-Session-Token", admin.token)
    expect(off.body.state).toBe("inactive")
    expect(
      (await api().get("/sessions/whoami").set("X-Session-Token", member.sessionToken)).status,
    ).toBe(401)
    await expect(loginPassword(member.email)).rejects.toBeDefined()

    const on = await api()
      .post(`/api/admin/users/${member.identityId}/reactivate`)
      .set("X-Session-Token", admin.token)
    expect(on.body.state).toBe("active")
    await expect(loginPassword(member.email)).resolves.toEqual(expect.any(String))
    expect(await adminEvents(member.identityId)).toEqual([
      "admin.user_deactivated",
      "admin.user_reactivated",
    ])
  })

  it("when an admin provisions a person, then they get a one-time recovery code that is not in the audit trail", async () => {
    const admin = await staff("admin")
    const email = uniqueEmail("new")
    const res = await api()
      .post("/api/admin/users")
      .set("X-Session-Token", admin.token)
      .send({ email, first_name: "Grace" })
    expect(res.status).toBe(201)
    expect(res.body.recovery_code).toMatch(/^\d{6}$/)
    expect(res.body.recovery_link).toContain("/recovery?flow=")
    const rows = await serviceDb()<{ details: unknown }[]>`
      select details from audit_events where subject_id = ${res.body.id} and event = 'admin.user_provisioned'`
    expect(rows).toHaveLength(1)
    expect(JSON.stringify(rows)).not.toContain(res.body.recovery_code)

    const again = await api()
      .post("/api/admin/users")
      .set("X-Session-Token", admin.token)
      .send({ email })
    expect(again.status).toBe(409)
  })

  it("when an admin searches people by email, then only matches come back", async () => {
    const admin = await staff("admin")
    const tag = `findme${Date.now()}`
    const a = await registerNative(`${tag}-a@example.com`)
    await registerNative(`${tag}-b@example.com`)
    const res = await api()
      .get(`/api/admin/users?search=${tag}`)
      .set("X-Session-Token", admin.token)
    expect(res.status).toBe(200)
    expect(res.body.users.map((u: { email: string }) => u.email)).toEqual([
      `${tag}-a@example.com`,
      `${tag}-b@example.com`,
    ])

    const detail = await api()
      .get(`/api/admin/users/${a.identityId}`)
      .set("X-Session-Token", admin.token)
    expect(detail.status).toBe(200)
    expect(detail.body).toMatchObject({
      email: a.email,
      role: "member",
      posture: { second_factor: false },
    })
    expect(detail.body.sessions.length).toBeGreaterThan(0)
  })

  it("when an admin lists people, then each shows its second factors and no credential secret", async () => {
    const admin = await staff("admin")
    const tag = `posture${Date.now()}`
    const withTotp = await registerNative(`${tag}-a@example.com`)
    await enrolTotp(withTotp.sessionToken)
    await registerNative(`${tag}-b@example.com`)
    const res = await api()
      .get(`/api/admin/users?search=${tag}`)
      .set("X-Session-Token", admin.token)
    expect(res.status).toBe(200)
    expect(
      res.body.users.map((u: { email: string; second_factors: string[] }) => [
        u.email,
        u.second_factors,
      ]),
    ).toEqual([
      [`${tag}-a@example.com`, ["totp"]],
      [`${tag}-b@example.com`, []],
    ])
    expect(JSON.stringify(res.body)).not.toMatch(/otpauth|hashed_password|credentials/)
  })

  it("when only an admin (not a super admin) changes the policy, then it is refused; a super admin's change is audited", async () => {
    const admin = await staff("admin")
    const boss = await staff("super_admin")
    const current = (await api().get("/api/admin/policy").set("X-Session-Token", admin.token)).body
    const denied = await api()
      .put("/api/admin/policy")
      .set("X-Session-Token", admin.token)
      .send({ password_rotation_days: current.password_rotation_days })
    expect(denied.status).toBe(403)
    // The same value again: the policy is shared by every test in this run.
    const ok = await api()
      .put("/api/admin/policy")
      .set("X-Session-Token", boss.token)
      .send({ password_rotation_days: current.password_rotation_days })
    expect(ok.status).toBe(200)
    const rows = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events where actor_id = ${boss.identityId} and event = 'policy.updated'`
    expect(rows[0]!.n).toBe(1)
  })
})

describe("admin API: audit log and notifications", () => {
  it("when an admin filters the org audit log, then matching entries come newest first, page by page, and export as CSV", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    await enrolTotp(member.sessionToken)
    await eventually(async () =>
      expect(await adminEventsAll(member.identityId)).toContain("auth.2fa_enabled"),
    )

    const page1 = await api()
      .get(`/api/admin/audit?subject=${member.identityId}&limit=1`)
      .set("X-Session-Token", admin.token)
    expect(page1.status).toBe(200)
    expect(page1.body.items).toHaveLength(1)
    expect(page1.body.items[0].event).toBe("auth.2fa_enabled")
    const page2 = await api()
      .get(`/api/admin/audit?subject=${member.identityId}&limit=1&cursor=${page1.body.next_cursor}`)
      .set("X-Session-Token", admin.token)
    expect(page2.body.items[0].event).toBe("auth.registered")

    const filtered = await api()
      .get(`/api/admin/audit?subject=${member.identityId}&event=auth.registered`)
      .set("X-Session-Token", admin.token)
    expect(filtered.body.items.map((i: { event: string }) => i.event)).toEqual(["auth.registered"])

    const bad = await api().get("/api/admin/audit?cursor=%%%").set("X-Session-Token", admin.token)
    expect(bad.status).toBe(400)

    const csv = await api()
      .get(`/api/admin/audit.csv?subject=${member.identityId}`)
      .set("X-Session-Token", admin.token)
    expect(csv.status).toBe(200)
    expect(csv.headers["content-type"]).toMatch(/text\/csv/)
    // Header, the two entries, and the export itself (recorded before the rows are streamed).
    const events = csv.text
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(",")[3])
    expect(events).toEqual(["auth.registered", "auth.2fa_enabled", "admin.audit_exported"])
    const exported = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events where actor_id = ${admin.identityId} and event = 'admin.audit_exported'`
    expect(exported[0]!.n).toBe(1)
  })

  it("when an admin resets a member's 2FA, then the manager and the security team are queued to hear about it", async () => {
    const admin = await staff("admin")
    const manager = await registerNative()
    const member = await registerNative()
    await setManager(member.identityId, manager.identityId)
    await enrolTotp(member.sessionToken)
    await api()
      .post(`/api/admin/users/${member.identityId}/reset-2fa`)
      .set("X-Session-Token", admin.token)
    const rows = await serviceDb()<{ recipient: string }[]>`
      select o.recipient from notification_outbox o join audit_events a on a.event_id = o.audit_event_id
      where a.subject_id = ${member.identityId} and a.event = 'admin.2fa_reset'`
    expect(rows.map((r) => r.recipient).sort()).toEqual([manager.email, ...SECURITY_TEAM].sort())

    // Delivered by the dispatcher to the real SMTP server, once to each.
    await eventually(async () => {
      const mails = (await (await fetch(stackInfo().mailMessagesUrl!)).json()) as {
        to: string[]
        subject: string
        text: string
      }[]
      // The member's own mail about enrolling (above) is not about the reset.
      const about = mails.filter(
        (m) =>
          m.subject.startsWith("Two-factor authentication was reset") &&
          m.text.includes(member.email),
      )
      expect(about.flatMap((m) => m.to).sort()).toEqual([manager.email, ...SECURITY_TEAM].sort())
    }, 20_000)
  })

  it("when a notification is dead, then admins see it and can put it back in the queue once", async () => {
    const admin = await staff("admin")
    const [row] = await serviceDb()<{ id: string }[]>`
      insert into notification_outbox (audit_event_id, kind, recipient, subject, body_text, status, attempts, last_error, message_id)
      values (gen_random_uuid(), 'test.dead', 'nobody@example.com', 'A dead letter', 'text', 'dead', 8, 'ECONNREFUSED', ${`<${Date.now()}@kratos-guard>`})
      returning id`
    const list = await api()
      .get("/api/admin/notifications?status=dead&limit=500")
      .set("X-Session-Token", admin.token)
    expect(list.status).toBe(200)
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(row!.id)

    const retry = await api()
      .post(`/api/admin/notifications/${row!.id}/retry`)
      .set("X-Session-Token", admin.token)
    expect(retry.status).toBe(200)
    expect(retry.body.status).toBe("queued")
    const again = await api()
      .post(`/api/admin/notifications/${row!.id}/retry`)
      .set("X-Session-Token", admin.token)
    expect(again.status).toBe(409)

    expect(
      (await api().post("/api/admin/notifications/nope/retry").set("X-Session-Token", admin.token))
        .status,
    ).toBe(400)
    expect(
      (await api().get("/api/admin/notifications?cursor=%%").set("X-Session-Token", admin.token))
        .status,
    ).toBe(400)
    const viewed = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events where actor_id = ${admin.identityId} and event = 'admin.viewed'`
    expect(viewed[0]!.n).toBeGreaterThanOrEqual(1)
  })
})

describe("admin API: bad input", () => {
  it("when ids, bodies or types are wrong, then each gets a clear 4xx and nothing is written", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const t = admin.token
    const cases: [request.Test, number][] = [
      [api().get("/api/admin/users/not-a-uuid").set("X-Session-Token", t), 400],
      [
        api()
          .get("/api/admin/users/00000000-0000-4000-8000-000000000000")
          .set("X-Session-Token", t),
        404,
      ],
      [
        api()
          .put(`/api/admin/users/${member.identityId}/role`)
          .set("X-Session-Token", t)
          .send({ role: "owner" }),
        400,
      ],
      [
        api()
          .put(`/api/admin/users/${member.identityId}/role`)
          .set("X-Session-Token", t)
          .send({ role: 1 }),
        400,
      ],
      [
        api()
          .put(`/api/admin/users/${member.identityId}/manager`)
          .set("X-Session-Token", t)
          .send({ manager_id: "x" }),
        400,
      ],
      [api().post("/api/admin/users").set("X-Session-Token", t).send({ email: "nope" }), 400],
      [
        api()
          .post("/api/admin/users")
          .set("X-Session-Token", t)
          .send({ email: "x".repeat(100_000) }),
        413,
      ],
      [api().get("/api/admin/users?limit=100000").set("X-Session-Token", t), 400],
      [
        api()
          .put(`/api/admin/users/${member.identityId}/manager`)
          .set("X-Session-Token", t)
          .send({ manager_id: null, extra: true }),
        400,
      ],
      [
        api()
          .post(`/api/admin/users/${member.identityId}/deactivate`)
          .set("Cookie", "ory_kratos_session=x"),
        403,
      ],
    ]
    for (const [call, status] of cases) {
      const res = await call
      expect(res.status).toBe(status)
      expect(res.body.error?.message).toEqual(expect.any(String))
    }
    expect(await adminEvents(member.identityId)).toEqual([])
    const { data } = await kratosClients().identities.getIdentity({ id: member.identityId })
    expect(data.state).toBe("active")
  })
})

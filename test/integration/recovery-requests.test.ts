import request from "supertest"
import { inProcessApp } from "../harness/app"
import { closeServiceDb, serviceDb } from "../harness/db"
import { SECURITY_TEAM } from "../harness/databases"
import { eventually } from "../harness/eventually"
import { enrolTotp, loginPassword, setManager, setRole, staff, stepUpTotp } from "../harness/flows"
import { kratosClients, registerNative } from "../harness/kratos"
import { kratosState } from "../harness/kratos-state"
import { stackInfo } from "../harness/stack-info"

/**
 * Lost-device recovery requests against the real Kratos, Postgres and SMTP sink: a person at
 * AAL1 proves their address with the mailed code and asks; admins approve (four eyes for an
 * admin's request, never their own) or deny; open requests expire (a moved clock, no sleeps).
 * What Kratos holds afterwards is read from its admin API.
 */

const api = () => request(stackInfo().publicUrl)
const as = (token: string) => ({ "X-Session-Token": token })
const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"

afterAll(closeServiceDb)

interface SinkMessage {
  to: string[]
  subject: string
  text: string
}

async function inbox(): Promise<SinkMessage[]> {
  const res = await fetch(stackInfo().mailMessagesUrl!)
  return (await res.json()) as SinkMessage[]
}

/** Marks the person's address verified in Kratos, as its verification flow would. */
async function verifyEmail(identityId: string): Promise<void> {
  await kratosClients().identities.patchIdentity({
    id: identityId,
    jsonPatch: [
      { op: "replace", path: "/verifiable_addresses/0/verified", value: true },
      { op: "replace", path: "/verifiable_addresses/0/status", value: "completed" },
    ],
  })
}

/** Someone with TOTP and a verified address who lost their phone: an AAL1 password session. */
async function lostDevice(role: "member" | "admin" | "super_admin" = "member") {
  const user = await registerNative()
  const { secret } = await enrolTotp(user.sessionToken)
  if (role !== "member") await setRole(user.identityId, role)
  await verifyEmail(user.identityId)
  const token = await loginPassword(user.email)
  const { data: session } = await kratosClients().frontend.toSession({ xSessionToken: token })
  return { ...user, secret, token, sessionId: session.id }
}

/** Asks for a code and reads it from the mail the SMTP sink received. */
async function mailedCode(person: { email: string; token: string }): Promise<string> {
  const codeMails = async () =>
    (await inbox()).filter(
      (x) => x.to.includes(person.email) && x.subject === "Your code for a lost-device request",
    )
  const before = (await codeMails()).length
  const sent = await api()
    .post("/api/me/recovery-request/code")
    .set(as(person.token))
    .set("User-Agent", UA)
  expect(sent.status).toBe(202)
  // The newest first: wait for this one.
  const mail = await eventually(async () => {
    const mails = await codeMails()
    if (mails.length <= before) throw new Error("no code mail yet")
    return mails[0]!
  })
  const code = /Your code is (\d{6})\./.exec(mail.text)?.[1]
  expect(code).toBeDefined()
  return code!
}

async function fileRequest(
  person: { email: string; token: string },
  reason = "My phone fell into the harbour and my recovery codes were on it.",
) {
  const code = await mailedCode(person)
  const res = await api()
    .post("/api/me/recovery-request")
    .set(as(person.token))
    .set("User-Agent", UA)
    .send({ code, reason })
  expect(res.status).toBe(201)
  expect(res.body.request.status).toBe("open")
  return res.body.request as { id: string; status: string; expires_at: string }
}

async function events(subjectId: string) {
  return serviceDb()<
    {
      event: string
      actor_type: string
      actor_id: string | null
      details: Record<string, unknown>
    }[]
  >`
    select event, actor_type, actor_id, details from audit_events
    where subject_id = ${subjectId} and (event like '%recovery%' or event = 'admin.2fa_reset')
    order by id`
}

async function outboxKinds(subjectId: string) {
  const rows = await serviceDb()<{ kind: string; recipient: string }[]>`
    select o.kind, o.recipient from notification_outbox o
      join audit_events a on a.event_id = o.audit_event_id
     where a.subject_id = ${subjectId} and a.event like '%recovery%'
     order by o.id`
  return rows.map((r) => `${r.kind} ${r.recipient}`)
}

const queue = (token: string, status = "open") =>
  api().get(`/api/admin/recovery-requests?status=${status}`).set(as(token))

describe("lost-device recovery requests", () => {
  it("when a member who lost their phone asks with the mailed code and an admin approves, then Kratos holds no second factor, only the asking session lives, and the member enrols again", async () => {
    const person = await lostDevice()
    const manager = await registerNative()
    await setManager(person.identityId, manager.identityId)
    // A second session, on the phone that was lost (at AAL2).
    const phoneToken = await loginPassword(person.email)
    await stepUpTotp(phoneToken, person.secret)

    // At AAL1 the gate sends them to step up, which they can't: hence the request.
    const gated = await api().get("/api/auth/gate").set(as(person.token))
    expect(gated.body.error.reason).toBe("aal2_required")
    expect((await api().get("/api/me/recovery-request").set(as(person.token))).body).toEqual({
      request: null,
    })

    const filed = await fileRequest(person)
    const hours = (Date.parse(filed.expires_at) - Date.now()) / 3_600_000
    expect(hours).toBeGreaterThan(71.9)
    expect(hours).toBeLessThanOrEqual(72)
    expect(await outboxKinds(person.identityId)).toEqual(
      expect.arrayContaining([
        `user.recovery_request_code ${person.email}`,
        `user.recovery_requested ${person.email}`,
        `recovery_requested.manager ${manager.email}`,
        ...SECURITY_TEAM.map((s) => `recovery_requested.security ${s}`),
      ]),
    )

    const admin = await staff("admin")
    const listed = await queue(admin.token)
    expect(listed.status).toBe(200)
    const item = listed.body.items.find((i: { id: string }) => i.id === filed.id)
    expect(item).toMatchObject({
      status: "open",
      reason: "My phone fell into the harbour and my recovery codes were on it.",
      device: expect.stringContaining("Chrome"),
      ip: expect.stringMatching(/127\.0\.0\.1/),
      previous_requests: 0,
      approvals_needed: 1,
      person: {
        id: person.identityId,
        email: person.email,
        role: "member",
        posture: expect.objectContaining({ second_factor: true }),
      },
    })
    expect(item.sessions.map((s: { id: string }) => s.id)).toContain(person.sessionId)
    expect(item.recent_sign_ins.length).toBeGreaterThan(0)

    const approved = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(admin.token))
    expect(approved.status).toBe(200)
    expect(approved.body).toMatchObject({ completed: true, request: { status: "approved" } })
    expect(approved.body.removed).toContain("totp")

    // Kratos's own record: no TOTP; the asking session alone is active.
    const state = await kratosState(person.identityId)
    expect(state.identity.credentials?.totp).toBeUndefined()
    expect(state.sessions.filter((s) => s.active).map((s) => s.id)).toEqual([person.sessionId])
    expect((await api().get("/sessions/whoami").set(as(phoneToken))).status).toBe(401)
    expect((await api().get("/sessions/whoami").set(as(person.token))).status).toBe(200)

    const mine = await api().get("/api/me/recovery-request").set(as(person.token))
    expect(mine.body.request).toMatchObject({ id: filed.id, status: "approved" })
    expect((await api().get("/api/auth/gate").set(as(person.token))).status).toBe(200)
    // Enrols a new authenticator with the session that asked.
    await enrolTotp(person.token)
    expect((await kratosState(person.identityId)).identity.credentials?.totp).toBeDefined()

    expect((await events(person.identityId)).map((e) => [e.event, e.actor_type])).toEqual([
      ["auth.recovery_request_code_sent", "user"],
      ["auth.recovery_requested", "user"],
      ["admin.2fa_reset", "admin"],
      ["admin.recovery_request_approved", "admin"],
    ])
    const all = JSON.stringify(
      await serviceDb()`select details from audit_events where subject_id = ${person.identityId}`,
    )
    expect(all).not.toMatch(/"code"/)
    expect(await outboxKinds(person.identityId)).toContain(
      `user.recovery_request_approved ${person.email}`,
    )
  })

  it("when an admin asks, then one super admin's approval is not enough (four eyes), nobody approves their own request, and after the second approval the 2FA policy holds them to the Security page", async () => {
    const person = await lostDevice("super_admin")
    // Still signed in at AAL2 on another device: they can reach the console, not approve.
    const other = await loginPassword(person.email)
    await stepUpTotp(other, person.secret)
    const filed = await fileRequest(person)

    const own = await api().post(`/api/admin/recovery-requests/${filed.id}/approve`).set(as(other))
    expect([own.status, own.body.error.reason]).toEqual([403, "own_request"])
    const ownDeny = await api().post(`/api/admin/recovery-requests/${filed.id}/deny`).set(as(other))
    expect([ownDeny.status, ownDeny.body.error.reason]).toEqual([403, "own_request"])

    // A plain admin may not decide an admin's request.
    const admin = await staff("admin")
    const low = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(admin.token))
    expect([low.status, low.body.error.reason]).toEqual([403, "rank"])

    const first = await staff("super_admin")
    const one = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(first.token))
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({
      completed: false,
      removed: [],
      request: { status: "open", approvals_needed: 2, approvals: [{ admin_id: first.identityId }] },
    })
    expect((await kratosState(person.identityId)).identity.credentials?.totp).toBeDefined()
    const again = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(first.token))
    expect([again.status, again.body.error.reason]).toEqual([409, "second_approver_required"])

    const second = await staff("super_admin")
    const two = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(second.token))
    expect(two.status).toBe(200)
    expect(two.body.completed).toBe(true)
    const state = await kratosState(person.identityId)
    expect(state.identity.credentials?.totp).toBeUndefined()
    expect(state.sessions.filter((s) => s.active).map((s) => s.id)).toEqual([person.sessionId])

    // Their role has required 2FA for long: the gate keeps them on the Security page.
    await setRole(person.identityId, "super_admin", new Date(Date.now() - 30 * 86_400_000))
    const gate = await api().get("/api/auth/gate").set(as(person.token))
    expect(gate.status).toBe(403)
    expect(gate.body.error.reason).toBe("mfa_enrollment_required")
    expect(gate.body.error.redirect_to).toMatch(/\/settings\?tab=security/)

    expect((await events(person.identityId)).map((e) => [e.event, e.actor_id])).toEqual([
      ["auth.recovery_request_code_sent", person.identityId],
      ["auth.recovery_requested", person.identityId],
      ["admin.recovery_request_first_approval", first.identityId],
      ["admin.2fa_reset", second.identityId],
      ["admin.recovery_request_approved", second.identityId],
    ])
    expect(await outboxKinds(person.identityId)).toEqual(
      expect.arrayContaining(
        SECURITY_TEAM.map((s) => `recovery_request_second_approval.security ${s}`),
      ),
    )
  })

  it("when four eyes are turned off, then one super admin's approval completes an admin's request", async () => {
    const app = inProcessApp({ env: { RECOVERY_FOUR_EYES: "false" } })
    try {
      const person = await lostDevice("admin")
      const filed = await fileRequest(person)
      const boss = await staff("super_admin")
      const res = await request(app.app)
        .post(`/api/admin/recovery-requests/${filed.id}/approve`)
        .set(as(boss.token))
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ completed: true, request: { approvals_needed: 1 } })
      expect((await kratosState(person.identityId)).identity.credentials?.totp).toBeUndefined()
    } finally {
      await app.close()
    }
  })

  it("when an admin denies, then nothing in Kratos changes, the person reads the denial and its note, and a new request shows the repeat to admins", async () => {
    const person = await lostDevice()
    const filed = await fileRequest(person)
    const before = await kratosState(person.identityId)
    const admin = await staff("admin")
    const denied = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/deny`)
      .set(as(admin.token))
      .send({ note: "Please call the service desk first." })
    expect(denied.status).toBe(200)
    expect(denied.body.request).toMatchObject({ status: "denied", decided_by: admin.identityId })
    expect(await kratosState(person.identityId)).toEqual(before)

    const mine = await api().get("/api/me/recovery-request").set(as(person.token))
    expect(mine.body.request).toMatchObject({
      status: "denied",
      decision_note: "Please call the service desk first.",
    })
    const approveDenied = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(admin.token))
    expect([approveDenied.status, approveDenied.body.error.reason]).toEqual([409, "request_denied"])
    expect(await outboxKinds(person.identityId)).toContain(
      `user.recovery_request_denied ${person.email}`,
    )

    const again = await fileRequest(person, "Still no phone; I called the service desk as asked.")
    const listed = await queue(admin.token)
    expect(listed.body.items.find((i: { id: string }) => i.id === again.id)).toMatchObject({
      previous_requests: 1,
    })
    expect((await events(person.identityId)).map((e) => e.event)).toEqual([
      "auth.recovery_request_code_sent",
      "auth.recovery_requested",
      "admin.recovery_request_denied",
      "auth.recovery_request_code_sent",
      "auth.recovery_requested",
    ])
  })

  it("when a request is open, then the person can't start another one (one open request per person)", async () => {
    const person = await lostDevice()
    await fileRequest(person)
    const code = await api().post("/api/me/recovery-request/code").set(as(person.token))
    expect([code.status, code.body.error.reason]).toEqual([409, "request_open"])
    const submit = await api()
      .post("/api/me/recovery-request")
      .set(as(person.token))
      .send({ code: "123456", reason: "Asking a second time, just in case." })
    expect([submit.status, submit.body.error.reason]).toEqual([409, "request_open"])
    const [count] = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from recovery_requests where identity_id = ${person.identityId}`
    expect(count!.n).toBe(1)
  })

  it("when 72 hours pass without a decision (a moved clock), then the request is expired for the person and the admins, audited and mailed, and can't be approved", async () => {
    const person = await lostDevice()
    const filed = await fileRequest(person)
    const later = inProcessApp({ clock: () => new Date(Date.now() + 72 * 3_600_000 + 60_000) })
    try {
      const mine = await request(later.app).get("/api/me/recovery-request").set(as(person.token))
      expect(mine.body.request).toMatchObject({ id: filed.id, status: "expired" })
      const admin = await staff("admin")
      const res = await request(later.app)
        .post(`/api/admin/recovery-requests/${filed.id}/approve`)
        .set(as(admin.token))
      expect([res.status, res.body.error.reason]).toEqual([409, "request_expired"])
      const expired = await request(later.app)
        .get("/api/admin/recovery-requests?status=expired")
        .set(as(admin.token))
      expect(expired.body.items.map((i: { id: string }) => i.id)).toContain(filed.id)
      expect((await kratosState(person.identityId)).identity.credentials?.totp).toBeDefined()
      const trail = await events(person.identityId)
      expect(trail.map((e) => [e.event, e.actor_type])).toEqual([
        ["auth.recovery_request_code_sent", "user"],
        ["auth.recovery_requested", "user"],
        ["system.recovery_request_expired", "system"],
      ])
      expect(await outboxKinds(person.identityId)).toContain(
        `user.recovery_request_expired ${person.email}`,
      )
      // An expired request no longer blocks a new one.
      const code = await request(later.app)
        .post("/api/me/recovery-request/code")
        .set(as(person.token))
      expect(code.status).toBe(202)
    } finally {
      await later.close()
    }
  })

  it("when the code is wrong, late or guessed too often, then each is a 400 and no request opens", async () => {
    const person = await lostDevice()
    const code = await mailedCode(person)
    const wrong = code === "000000" ? "111111" : "000000"
    const send = (body: object) =>
      api().post("/api/me/recovery-request").set(as(person.token)).send(body)
    const reason = "Lost my phone on the train this morning."

    // 16 minutes later the right code has expired.
    const late = inProcessApp({ clock: () => new Date(Date.now() + 16 * 60_000) })
    try {
      const res = await request(late.app)
        .post("/api/me/recovery-request")
        .set(as(person.token))
        .send({ code, reason })
      expect([res.status, res.body.error.reason]).toEqual([400, "code_invalid"])
    } finally {
      await late.close()
    }
    for (let i = 0; i < 3; i++) {
      const res = await send({ code: wrong, reason })
      expect([res.status, res.body.error.reason]).toEqual([400, "code_invalid"])
    }
    const last = await send({ code: wrong, reason })
    expect([last.status, last.body.error.reason]).toEqual([400, "code_attempts_exceeded"])
    // Even the right code no longer works: a new one must be asked for.
    const right = await send({ code, reason })
    expect([right.status, right.body.error.reason]).toEqual([400, "code_attempts_exceeded"])
    const [row] = await serviceDb()<{ status: string }[]>`
      select status from recovery_requests where identity_id = ${person.identityId}`
    expect(row!.status).toBe("verifying")
  })

  it("when the input or the caller is wrong, then each answer is a clear 4xx and nothing is written", async () => {
    const person = await lostDevice()
    const post = (body: unknown, token = person.token) =>
      api()
        .post("/api/me/recovery-request")
        .set(as(token))
        .send(body as object)

    expect(
      (await post({ code: "123456", reason: "Lost my phone yesterday." })).body.error.reason,
    ).toBe("code_required")
    for (const body of [
      {},
      { code: "12345", reason: "Lost my phone yesterday." },
      { code: "abcdef", reason: "Lost my phone yesterday." },
      { code: "123456", reason: "short" },
      { code: "123456", reason: "x".repeat(1001) },
      { code: "123456", reason: "Lost my phone\u0000 yesterday." },
      { code: "123456", reason: "Lost my phone yesterday.", extra: 1 },
      { code: 123456, reason: "Lost my phone yesterday." },
    ]) {
      const res = await post(body)
      expect([JSON.stringify(body).slice(0, 60), res.status]).toEqual([
        JSON.stringify(body).slice(0, 60),
        400,
      ])
    }
    const withBody = await api()
      .post("/api/me/recovery-request/code")
      .set(as(person.token))
      .send({ email: "attacker@example.com" })
    expect(withBody.status).toBe(400)
    const query = await api().get("/api/me/recovery-request?x=1").set(as(person.token))
    expect(query.status).toBe(400)
    expect((await api().get("/api/me/recovery-request")).status).toBe(401)

    // At AAL2 there is a second factor to use; without one there is nothing to reset; an
    // unverified address gets no code.
    const aal2 = await loginPassword(person.email)
    await stepUpTotp(aal2, person.secret)
    const stepped = await api().post("/api/me/recovery-request/code").set(as(aal2))
    expect([stepped.status, stepped.body.error.reason]).toEqual([409, "second_factor_available"])
    const plain = await registerNative()
    await verifyEmail(plain.identityId)
    const none = await api().post("/api/me/recovery-request/code").set(as(plain.sessionToken))
    expect([none.status, none.body.error.reason]).toEqual([409, "no_second_factor"])
    const unverified = await registerNative()
    await enrolTotp(unverified.sessionToken)
    const t = await loginPassword(unverified.email)
    const noMail = await api().post("/api/me/recovery-request/code").set(as(t))
    expect([noMail.status, noMail.body.error.reason]).toEqual([409, "email_not_verified"])

    // The admin side: ids, queries, bodies and who may call.
    const admin = await staff("admin")
    const adminAal1 = await staff("admin", "aal1")
    expect((await queue(admin.token, "nonsense")).status).toBe(400)
    expect(
      (await api().get("/api/admin/recovery-requests?limit=5").set(as(admin.token))).status,
    ).toBe(400)
    expect((await queue(person.token)).status).toBe(403)
    const aal1 = await queue(adminAal1.token)
    expect([aal1.status, aal1.body.error.reason]).toEqual([403, "aal2_required"])
    expect(
      (await api().post("/api/admin/recovery-requests/not-an-id/approve").set(as(admin.token)))
        .status,
    ).toBe(400)
    const unknown = await api()
      .post("/api/admin/recovery-requests/00000000-0000-4000-8000-000000000000/approve")
      .set(as(admin.token))
    expect(unknown.status).toBe(404)
    const filed = await fileRequest(person)
    for (const body of [{ note: 5 }, { note: "x".repeat(501) }, { reason: "no" }]) {
      const res = await api()
        .post(`/api/admin/recovery-requests/${filed.id}/deny`)
        .set(as(admin.token))
        .send(body)
      expect(res.status).toBe(400)
    }
    const withJunk = await api()
      .post(`/api/admin/recovery-requests/${filed.id}/approve`)
      .set(as(admin.token))
      .send({ force: true })
    expect(withJunk.status).toBe(400)
    expect(
      (await queue(admin.token)).body.items.find((i: { id: string }) => i.id === filed.id).status,
    ).toBe("open")
    // The upper-case spelling of the request's id names the same request.
    const upper = await api()
      .post(`/api/admin/recovery-requests/${filed.id.toUpperCase()}/deny`)
      .set(as(admin.token))
    expect([upper.status, upper.body.request?.id]).toEqual([200, filed.id])
  })
})

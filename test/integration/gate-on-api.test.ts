import { randomUUID } from "node:crypto"
import request from "supertest"
import { inProcessApp } from "../harness/app"
import { browserRegistration } from "../harness/browser-session"
import { closeServiceDb, serviceDb } from "../harness/db"
import { setRole, staff, submitSettings } from "../harness/flows"
import { appRoutes } from "../harness/hostile"
import { kratosClients, registerNative, uniqueEmail } from "../harness/kratos"
import { kratosState } from "../harness/kratos-state"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)
const DAY = 86_400_000
const NEW_PASSWORD = "Copper-Meadow-Signal-58!"

/**
 * The routes a person the gate refuses still reaches: what the Security page calls (the gate
 * in the app shell, the overview, the session list and its revoke buttons, the ack after a
 * password change), and a lost-device request (for someone who can't reach AAL2 to put it
 * right). Changing the password and enrolling 2FA are Kratos settings flows.
 */
const OPEN_WHEN_GATED = [
  "GET /api/auth/gate",
  "POST /api/auth/ack-password-change",
  "GET /api/me/security",
  "GET /api/me/sessions",
  "DELETE /api/me/sessions/:id",
  "DELETE /api/me/sessions",
  "GET /api/me/recovery-request",
  "POST /api/me/recovery-request/code",
  "POST /api/me/recovery-request",
]

/** Bodies that would be valid calls, so only the gate can be what refuses them. */
const BODIES: Record<string, () => object> = {
  "POST /api/admin/users": () => ({ email: uniqueEmail("gated") }),
  "PUT /api/admin/users/:id/role": () => ({ role: "member" }),
  "PUT /api/admin/users/:id/manager": () => ({ manager_id: null }),
  "PUT /api/admin/policy": () => ({ mfa_grace_period_hours: 72 }),
}

function send(route: string, token: string, targetId: string) {
  const [method, template] = route.split(" ") as [string, string]
  const path = template.replace(":id", template.includes("/users/") ? targetId : randomUUID())
  const verb = method.toLowerCase() as "get" | "post" | "put" | "delete"
  const req = api()[verb](path).set("X-Session-Token", token)
  return method === "GET" ? req : req.send(BODIES[route]?.() ?? {})
}

/** The error without its request id: what two refusals must agree on. */
const refusal = (res: { status: number; body: { error?: Record<string, unknown> } }) => {
  const { request_id: _requestId, ...error } = res.body.error ?? {}
  return { status: res.status, error }
}

async function adminEntriesBy(actorId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events where actor_type = 'admin' and actor_id = ${actorId} order by id`
  return rows.map((r) => r.event)
}

describe("the gate on the API", () => {
  let gatedRoutes: string[]
  beforeAll(async () => {
    const { app, close } = inProcessApp({})
    const apiRoutes = appRoutes(app).filter((r) => r.split(" ")[1]!.startsWith("/api/"))
    await close()
    expect(apiRoutes).toEqual(expect.arrayContaining(OPEN_WHEN_GATED))
    gatedRoutes = apiRoutes.filter((r) => !OPEN_WHEN_GATED.includes(r))
  })

  it("when an AAL2 admin must change their password, then every other /api route answers the gate's password_change_required and writes nothing, the Security page's calls work, and after the change and the ack the admin API works again", async () => {
    const boss = await staff("super_admin")
    const admin = await staff("admin")
    const member = await registerNative()
    const forced = await send(
      "POST /api/admin/users/:id/force-password-change",
      boss.token,
      admin.identityId,
    )
    expect(forced.status).toBe(200)
    const memberBefore = await kratosState(member.identityId)

    const gate = await api().get("/api/auth/gate").set("X-Session-Token", admin.token)
    expect(refusal(gate)).toMatchObject({
      status: 403,
      error: { code: "FORBIDDEN", reason: "password_change_required" },
    })
    expect(gatedRoutes).toEqual(
      expect.arrayContaining([
        "GET /api/admin/audit",
        "POST /api/admin/users/:id/revoke-sessions",
        "POST /api/admin/users/:id/force-password-change",
        "GET /api/me/activity",
      ]),
    )
    for (const route of gatedRoutes) {
      const res = await send(route, admin.token, member.identityId)
      expect([route, refusal(res)]).toEqual([route, refusal(gate)])
    }
    expect(await kratosState(member.identityId)).toEqual(memberBefore)
    expect(await adminEntriesBy(admin.identityId)).toEqual([])

    // What the Security page needs keeps working.
    const overview = await api().get("/api/me/security").set("X-Session-Token", admin.token)
    expect(overview.status).toBe(200)
    const sessions = await api().get("/api/me/sessions").set("X-Session-Token", admin.token)
    expect(sessions.status).toBe(200)
    expect(sessions.body.sessions.length).toBeGreaterThan(0)
    const noSuch = await api()
      .delete(`/api/me/sessions/${randomUUID()}`)
      .set("X-Session-Token", admin.token)
    expect([noSuch.status, noSuch.body.error?.code]).toEqual([404, "NOT_FOUND"])
    const others = await api().delete("/api/me/sessions").set("X-Session-Token", admin.token)
    expect(others.status).toBe(200)
    const early = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", admin.token)
    expect(early.status).toBe(409)

    const changed = await submitSettings(admin.token, {
      method: "password",
      password: NEW_PASSWORD,
    })
    expect(changed.status).toBe(200)
    const ack = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", admin.token)
    expect([ack.status, ack.body.status]).toEqual([200, "cleared"])
    const { data } = await kratosClients().identities.getIdentity({ id: admin.identityId })
    expect(data.metadata_public).toMatchObject({ force_password_change: { required: false } })

    const audit = await send("GET /api/admin/audit", admin.token, member.identityId)
    expect(audit.status).toBe(200)
    const activity = await send("GET /api/me/activity", admin.token, member.identityId)
    expect(activity.status).toBe(200)
    const revoked = await send(
      "POST /api/admin/users/:id/revoke-sessions",
      admin.token,
      member.identityId,
    )
    expect(revoked.status).toBe(200)
    expect((await kratosState(member.identityId)).sessions.every((s) => !s.active)).toBe(true)
    const forcedMember = await send(
      "POST /api/admin/users/:id/force-password-change",
      admin.token,
      member.identityId,
    )
    expect(forcedMember.status).toBe(200)
    const { data: target } = await kratosClients().identities.getIdentity({
      id: member.identityId,
    })
    expect(target.metadata_public).toMatchObject({ force_password_change: { required: true } })
    expect(await adminEntriesBy(admin.identityId)).toEqual([
      "admin.viewed",
      "admin.sessions_revoked",
      "auth.force_password_change_required",
    ])
  })

  it("when an admin's second factor is removed behind an AAL2 session and their enrolment deadline has passed, then the admin API answers the gate's mfa_enrollment_required and writes nothing", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    await setRole(admin.identityId, "admin", new Date(Date.now() - 30 * DAY))
    // Removing a credential through the admin API leaves the person's sessions as they were.
    await kratosClients().identities.deleteIdentityCredentials({
      id: admin.identityId,
      type: "totp",
    })
    const memberBefore = await kratosState(member.identityId)

    const gate = await api().get("/api/auth/gate").set("X-Session-Token", admin.token)
    expect(refusal(gate)).toMatchObject({
      status: 403,
      error: { reason: "mfa_enrollment_required" },
    })
    for (const route of [
      "GET /api/admin/audit",
      "POST /api/admin/users/:id/revoke-sessions",
      "POST /api/admin/users/:id/force-password-change",
      "PUT /api/admin/users/:id/role",
      "GET /api/me/activity",
    ]) {
      const res = await send(route, admin.token, member.identityId)
      expect([route, refusal(res)]).toEqual([route, refusal(gate)])
    }
    const overview = await api().get("/api/me/security").set("X-Session-Token", admin.token)
    expect(overview.status).toBe(200)
    expect(await kratosState(member.identityId)).toEqual(memberBefore)
    expect(await adminEntriesBy(admin.identityId)).toEqual([])
  })

  it("when an admin without 2FA at AAL1 is past their deadline, then admin routes give the gate's reason (enrol) rather than a step-up they can't do", async () => {
    const user = await registerNative()
    await setRole(user.identityId, "admin", new Date(Date.now() - 30 * DAY))
    const gate = await api().get("/api/auth/gate").set("X-Session-Token", user.sessionToken)
    expect(gate.body.error?.reason).toBe("mfa_enrollment_required")
    for (const route of ["GET /api/admin/users", "GET /api/admin/policy", "GET /api/me/activity"]) {
      const res = await send(route, user.sessionToken, user.identityId)
      expect([route, refusal(res)]).toEqual([route, refusal(gate)])
    }
    const sessions = await api().get("/api/me/sessions").set("X-Session-Token", user.sessionToken)
    expect(sessions.status).toBe(200)
  })

  it("when a member the gate lets through calls an admin route, then the answer is still admin_required", async () => {
    const member = await registerNative()
    const gate = await api().get("/api/auth/gate").set("X-Session-Token", member.sessionToken)
    expect(gate.status).toBe(200)
    const res = await send("GET /api/admin/audit", member.sessionToken, member.identityId)
    expect([res.status, res.body.error?.reason]).toEqual([403, "admin_required"])
    const activity = await send("GET /api/me/activity", member.sessionToken, member.identityId)
    expect(activity.status).toBe(200)
  })
})

describe("the gate behind a reverse proxy's auth sub-request", () => {
  it("when the app's own Authorization header comes along, then the gate reads only Kratos's session and never takes the app's bearer for one", async () => {
    const browser = await browserRegistration()
    const appJwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"

    const withCookie = await api()
      .get("/api/auth/gate")
      .set("Cookie", browser.cookieHeader)
      .set("Authorization", appJwt)
    expect([withCookie.status, withCookie.body.identity_id]).toEqual([200, browser.identityId])

    const bearerOnly = await api().get("/api/auth/gate").set("Authorization", appJwt)
    expect([bearerOnly.status, bearerOnly.body.error?.reason]).toEqual([401, "session_required"])
  })
})

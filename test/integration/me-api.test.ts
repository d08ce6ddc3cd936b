import { randomUUID } from "node:crypto"
import { Configuration, FrontendApi } from "@ory/client"
import request from "supertest"
import { type Database, openDatabase } from "../../db/client"
import { appendAuditAlone } from "../../webhooks/domain/audit"
import { listMySessions } from "../../webhooks/domain/sessions"
import { inProcessApp } from "../harness/app"
import { closeServiceDb, serviceDb } from "../harness/db"
import { enrolRecoveryCodes, enrolTotp, setRole } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

const CHROME_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
const FIREFOX_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"

const api = () => request(stackInfo().publicUrl)
const get = (path: string, token: string) => api().get(path).set("X-Session-Token", token)
const del = (path: string, token: string) => api().delete(path).set("X-Session-Token", token)

/** A password login through the proxy from a browser with this User-Agent; its session token. */
async function loginAs(email: string, userAgent: string): Promise<string> {
  const frontend = new FrontendApi(
    new Configuration({
      basePath: stackInfo().publicUrl,
      baseOptions: { headers: { "User-Agent": userAgent } },
    }),
  )
  const { data: flow } = await frontend.createNativeLoginFlow()
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password: STRONG_PASSWORD },
  })
  return data.session_token!
}

async function whoami(token: string): Promise<{ status: number; id?: string }> {
  try {
    const { data, status } = await kratosClients().frontend.toSession({ xSessionToken: token })
    return { status, id: data.id }
  } catch (err) {
    const res = (err as { response?: { status: number } }).response
    if (!res) throw err
    return { status: res.status }
  }
}

async function auditCount(identityId: string): Promise<number> {
  const [row] = await serviceDb()<{ n: number }[]>`
    select count(*)::int as n from audit_events where subject_id = ${identityId}`
  return row!.n
}

afterAll(closeServiceDb)

describe("the user's sessions", () => {
  it("when a user has sessions on two browsers, then the current comes first with its device, another can be revoked, the current cannot, and all others go at once", async () => {
    const user = await registerNative()
    const mac = await loginAs(user.email, CHROME_MAC)
    const windows = await loginAs(user.email, FIREFOX_WINDOWS)
    const macId = (await whoami(mac)).id!
    const windowsId = (await whoami(windows)).id!
    const registrationId = (await whoami(user.sessionToken)).id!

    const list = await get("/api/me/sessions", mac).expect(200)
    const sessions = list.body.sessions as {
      id: string
      current: boolean
      device: { name: string }
      ip: string | null
      aal: string
      authenticated_at: string
      last_active_at: string
      methods: { method: string }[]
    }[]
    expect(sessions.map((s) => s.id).sort()).toEqual([macId, windowsId, registrationId].sort())
    expect(sessions[0]).toMatchObject({
      id: macId,
      current: true,
      device: { name: "Chrome 120 on macOS" },
      aal: "aal1",
      methods: [{ method: "password" }],
    })
    expect(sessions[0]!.ip).toMatch(/127\.0\.0\.1|::1/)
    expect(sessions.slice(1).every((s) => !s.current)).toBe(true)
    expect(sessions.find((s) => s.id === windowsId)!.device.name).toBe("Firefox 121 on Windows")
    expect(Date.parse(sessions[0]!.last_active_at)).toBeGreaterThanOrEqual(
      Date.parse(sessions[0]!.authenticated_at),
    )

    const revoked = await del(`/api/me/sessions/${windowsId}`, mac)
      .set("User-Agent", CHROME_MAC)
      .expect(200)
    expect(revoked.body.revoked).toMatchObject({
      id: windowsId,
      device: { name: "Firefox 121 on Windows" },
    })
    expect((await whoami(windows)).status).toBe(401)
    expect((await whoami(mac)).status).toBe(200)

    const current = await del(`/api/me/sessions/${macId}`, mac).expect(400)
    expect(current.body.error).toMatchObject({ code: "BAD_REQUEST", reason: "current_session" })
    expect(current.body.error.message).toMatch(/sign out instead/)
    expect((await whoami(mac)).status).toBe(200)

    const all = await del("/api/me/sessions", mac).expect(200)
    expect(all.body.revoked.map((s: { id: string }) => s.id)).toEqual([registrationId])
    expect((await whoami(user.sessionToken)).status).toBe(401)
    const after = await get("/api/me/sessions", mac).expect(200)
    expect(after.body.sessions).toEqual([expect.objectContaining({ id: macId, current: true })])

    const activity = await get("/api/me/activity", mac).expect(200)
    const revocations = (
      activity.body.items as { event: string; details: Record<string, unknown>; actor: string }[]
    ).filter((i) => i.event === "auth.session_revoked")
    expect(revocations.map((r) => r.details.session_id).sort()).toEqual(
      [windowsId, registrationId].sort(),
    )
    expect(revocations.find((r) => r.details.session_id === windowsId)).toMatchObject({
      actor: "self",
      device: "Chrome 120 on macOS",
      details: { device: "Firefox 121 on Windows" },
    })
  })

  it("when Kratos pages the other sessions, then every page is read", async () => {
    const user = await registerNative()
    const tokens = [
      user.sessionToken,
      await loginAs(user.email, CHROME_MAC),
      await loginAs(user.email, FIREFOX_WINDOWS),
      await loginAs(user.email, FIREFOX_WINDOWS),
    ]
    const ids = await Promise.all(tokens.map(async (t) => (await whoami(t)).id!))
    const { data: current } = await kratosClients().frontend.toSession({ xSessionToken: tokens[0] })
    const { deps, close } = inProcessApp({})
    try {
      for (const sessionsPageSize of [1, 2, 3]) {
        const list = await listMySessions(
          {
            database: deps.database,
            kratos: deps.kratos,
            kratosPublic: deps.kratosPublic,
            sessionsPageSize,
          },
          { token: tokens[0]!, cookies: [] },
          current,
          { ip: null, userAgent: null },
        )
        expect(list.map((s) => s.id).sort()).toEqual([...ids].sort())
        expect(list[0]).toMatchObject({ id: ids[0], current: true })
      }
    } finally {
      await close()
    }
  })

  it("when the session id is malformed, unknown or someone else's, then 400 or 404 and nothing is revoked or written", async () => {
    const user = await registerNative()
    const other = await registerNative()
    const otherId = (await whoami(other.sessionToken)).id!
    const before = await auditCount(user.identityId)

    const bad = await del("/api/me/sessions/not-a-uuid", user.sessionToken).expect(400)
    expect(bad.body.error.message).toMatch(/session id must be a UUID/)
    await del(`/api/me/sessions/${randomUUID()}`, user.sessionToken).expect(404)
    const foreign = await del(`/api/me/sessions/${otherId}`, user.sessionToken).expect(404)
    expect(foreign.body.error.message).toMatch(/no such active session/)

    expect((await whoami(other.sessionToken)).status).toBe(200)
    expect(await auditCount(user.identityId)).toBe(before)
  })

  it("when a cookie-authenticated call lacks the CSRF header, then it is refused and nothing is revoked", async () => {
    const user = await registerNative()
    const second = await loginAs(user.email, FIREFOX_WINDOWS)
    const res = await api()
      .delete("/api/me/sessions")
      .set("Cookie", "ory_kratos_session=forged")
      .set("X-Session-Token", user.sessionToken)
      .expect(403)
    expect(res.body.error.reason).toBe("csrf")
    expect((await whoami(second)).status).toBe(200)
  })

  it("when there is no session, then every route answers 401", async () => {
    for (const [method, path] of [
      ["get", "/api/me/security"],
      ["get", "/api/me/activity"],
      ["get", "/api/me/sessions"],
      ["delete", `/api/me/sessions/${randomUUID()}`],
      ["delete", "/api/me/sessions"],
    ] as const) {
      const res = await api()[method](path).set("X-Session-Token", "ory_st_not-a-real-token")
      expect(res.status).toBe(401)
      const anonymous = await api()[method](path)
      expect(anonymous.status).toBe(401)
    }
  })
})

describe("the user's security overview", () => {
  it("when a fresh member asks, then 2FA is disabled and not required, and the password dates from registration", async () => {
    const user = await registerNative()
    const res = await get("/api/me/security", user.sessionToken).expect(200)
    expect(res.body).toMatchObject({
      identity_id: user.identityId,
      role: "member",
      password: { set: true, last_changed_source: "credential", rotation_due: false },
      two_factor: {
        enabled: false,
        methods: [],
        recovery_codes_left: 0,
        required: false,
        required_by: null,
        enrolment_deadline: null,
      },
      sso_required: false,
      force_password_change: { required: false, set_at: null },
    })
    expect(Math.abs(Date.parse(res.body.password.last_changed_at) - Date.now())).toBeLessThan(
      60_000,
    )
  })

  it("when an admin has TOTP and recovery codes, then 2FA is enabled, required by role, with the enrolment time and 12 codes left", async () => {
    const user = await registerNative()
    await setRole(user.identityId, "admin")
    const before = Date.now()
    await enrolTotp(user.sessionToken)
    expect(await enrolRecoveryCodes(user.sessionToken)).toBe(12)

    const res = await get("/api/me/security", user.sessionToken).expect(200)
    expect(res.body).toMatchObject({
      role: "admin",
      two_factor: {
        enabled: true,
        methods: [{ type: "totp", enrolled_at: expect.any(String) }],
        recovery_codes_left: 12,
        recovery_codes_total: 12,
        required: true,
        required_by: "role",
        enrolment_deadline: null,
        enrolment_overdue: false,
      },
    })
    const enrolledAt = Date.parse(res.body.two_factor.methods[0].enrolled_at)
    expect(enrolledAt).toBeGreaterThanOrEqual(before - 5_000)
    expect(enrolledAt).toBeLessThanOrEqual(Date.now() + 5_000)
  })

  it("when the user has an audited password change, then that time is the last change, whatever Kratos's updated_at says", async () => {
    const user = await registerNative()
    const database = openDatabase({ databaseUrl: stackInfo().serviceDatabaseUrl! })
    const changedAt = new Date(Date.now() - 3 * 86_400_000)
    try {
      await appendAuditAlone(database.db, {
        event: "auth.password_changed",
        actorType: "user",
        actorId: user.identityId,
        subjectId: user.identityId,
        posture: {},
        dedupKey: `test:${randomUUID()}`,
        occurredAt: changedAt,
      })
    } finally {
      await database.close()
    }
    const res = await get("/api/me/security", user.sessionToken).expect(200)
    expect(res.body.password).toMatchObject({
      last_changed_at: changedAt.toISOString(),
      last_changed_source: "audit",
    })
  })

  it("when the query has unknown parameters, then 400", async () => {
    const user = await registerNative()
    await get("/api/me/security?x=1", user.sessionToken).expect(400)
  })
})

describe("the user's activity feed", () => {
  let database: Database
  beforeAll(() => {
    database = openDatabase({ databaseUrl: stackInfo().serviceDatabaseUrl! })
  })
  afterAll(() => database.close())

  it("when there are more entries than a page, then the cursor walks them all, newest first, without duplicates", async () => {
    const user = await registerNative()
    for (let i = 0; i < 23; i++) {
      await appendAuditAlone(database.db, {
        event: i % 2 === 0 ? "auth.2fa_enabled" : "auth.profile_updated",
        actorType: i % 5 === 0 ? "admin" : "user",
        actorId: i % 5 === 0 ? randomUUID() : user.identityId,
        subjectId: user.identityId,
        ip: "8.8.8.8",
        userAgent: CHROME_MAC,
        posture: {},
        details: { method: "totp", secret_thing: "never shown", n: i },
        dedupKey: `test:${randomUUID()}`,
      })
    }
    const expected = await serviceDb()<{ event_id: string }[]>`
      select event_id from audit_events where subject_id = ${user.identityId} order by id desc`
    expect(expected.length).toBeGreaterThanOrEqual(24)

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: request.Response = await get(
        `/api/me/activity?limit=7${cursor ? `&cursor=${cursor}` : ""}`,
        user.sessionToken,
      ).expect(200)
      expect(res.body.items.length).toBeLessThanOrEqual(7)
      seen.push(...res.body.items.map((i: { id: string }) => i.id))
      cursor = res.body.next_cursor
      pages++
    } while (cursor && pages < 20)
    expect(seen).toEqual(expected.map((r) => r.event_id))

    const first = await get("/api/me/activity?limit=1", user.sessionToken).expect(200)
    expect(first.body.items[0]).toMatchObject({
      event: "auth.2fa_enabled",
      ip: "8.8.8.8",
      device: "Chrome 120 on macOS",
      location: { country: "US" },
      actor: "self",
      details: { method: "totp" },
    })
    expect(first.body.items[0].details).not.toHaveProperty("secret_thing")
    const def = await get("/api/me/activity", user.sessionToken).expect(200)
    expect(def.body.items).toHaveLength(20)
  })

  it("when the cursor or limit is malformed, then 400 with a clear message", async () => {
    const user = await registerNative()
    const garbage = await get("/api/me/activity?cursor=garbage!!", user.sessionToken).expect(400)
    expect(garbage.body.error.message).toMatch(/cursor/)
    await get("/api/me/activity?cursor=eyJ2IjoxLCJpZCI6LTF9", user.sessionToken).expect(400)
    for (const q of ["limit=0", "limit=101", "limit=abc", "limit=1.5", "limit=5&limit=6", "x=1"]) {
      const res = await get(`/api/me/activity?${q}`, user.sessionToken)
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe("BAD_REQUEST")
    }
  })
})

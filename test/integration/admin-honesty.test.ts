import request from "supertest"
import { inProcessApp } from "../harness/app"
import { closeServiceDb } from "../harness/db"
import { staff } from "../harness/flows"
import { registerNative, uniqueEmail } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)

describe("the audit log's person filters take the id prefixes the log shows", () => {
  it("when an admin filters by the first 8 characters of a subject or an actor, then exactly their entries come back, named, in the page and the CSV", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const other = await registerNative()
    await api()
      .post(`/api/admin/users/${member.identityId}/revoke-sessions`)
      .set("X-Session-Token", admin.token)
      .expect(200)

    const short = member.identityId.slice(0, 8).toUpperCase()
    const bySubject = await api()
      .get(`/api/admin/audit?subject=${short}&limit=100`)
      .set("X-Session-Token", admin.token)
      .expect(200)
    const subjects = new Set(bySubject.body.items.map((e: { subject_id: string }) => e.subject_id))
    expect([...subjects]).toEqual([member.identityId])
    expect(bySubject.body.items.map((e: { event: string }) => e.event)).toEqual(
      expect.arrayContaining(["auth.registered", "admin.sessions_revoked"]),
    )
    // The page names its people, for the console to show instead of ids.
    expect(bySubject.body.people[member.identityId]).toEqual({ email: member.email, name: null })
    expect(bySubject.body.people[admin.identityId]).toEqual({ email: admin.email, name: null })

    const byActor = await api()
      .get(`/api/admin/audit?actor=${admin.identityId.slice(0, 13)}&limit=100`)
      .set("X-Session-Token", admin.token)
      .expect(200)
    expect(byActor.body.items.length).toBeGreaterThan(0)
    expect(
      byActor.body.items.every((e: { actor_id: string }) => e.actor_id === admin.identityId),
    ).toBe(true)
    expect(
      byActor.body.items.some(
        (e: { event: string; subject_id: string }) =>
          e.event === "admin.sessions_revoked" && e.subject_id === member.identityId,
      ),
    ).toBe(true)

    const csv = await api()
      .get(`/api/admin/audit.csv?subject=${member.identityId.slice(0, 8)}`)
      .set("X-Session-Token", admin.token)
      .expect(200)
    expect(csv.text).toContain(member.identityId)
    expect(csv.text).not.toContain(other.identityId)
  })

  it("when a person filter is not an id or the start of one, then it is refused with 400 and nothing is listed", async () => {
    const admin = await staff("admin")
    for (const bad of [
      "abc",
      "olivia",
      "0b6d8a5-2",
      "%25",
      "0b6d8a52-3f0e-4c1b-9d7e-2a4f5c6b7d8e0",
      "{0b6d8a52}",
      " 0b6d8a52",
    ]) {
      for (const field of ["actor", "subject"]) {
        const res = await api()
          .get(`/api/admin/audit?${field}=${encodeURIComponent(bad)}`)
          .set("X-Session-Token", admin.token)
        expect(res.status).toBe(400)
        expect(res.body.items).toBeUndefined()
        const csv = await api()
          .get(`/api/admin/audit.csv?${field}=${encodeURIComponent(bad)}`)
          .set("X-Session-Token", admin.token)
        expect(csv.status).toBe(400)
      }
    }
  })
})

describe("what an admin is told about notifications", () => {
  it("when no security team address is configured, then a person's record says only their manager is notified, and nobody without one", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const withTeam = await api()
      .get(`/api/admin/users/${member.identityId}`)
      .set("X-Session-Token", admin.token)
      .expect(200)
    expect(withTeam.body.notified).toEqual({ manager: false, security_team: true })

    const noTeam = inProcessApp({ env: { SECURITY_TEAM_EMAILS: "" } })
    try {
      const res = await request(noTeam.app)
        .get(`/api/admin/users/${member.identityId}`)
        .set("X-Session-Token", admin.token)
        .expect(200)
      expect(res.body.notified).toEqual({ manager: false, security_team: false })
    } finally {
      await noTeam.close()
    }
  })
})

describe("a member's own activity", () => {
  it("when an admin looks at their record and sets their manager, then the look is not in their feed and the admin's device and address are not shown", async () => {
    const admin = await staff("admin")
    const member = await registerNative(uniqueEmail("watched"))
    await api()
      .get(`/api/admin/users/${member.identityId}`)
      .set("X-Session-Token", admin.token)
      .set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
      .expect(200)
    await api()
      .get(`/api/admin/audit.csv?subject=${member.identityId}`)
      .set("X-Session-Token", admin.token)
      .expect(200)
    await api()
      .put(`/api/admin/users/${member.identityId}/manager`)
      .set("X-Session-Token", admin.token)
      .set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
      .send({ manager_id: admin.identityId })
      .expect(200)

    const fresh = await request(stackInfo().publicUrl)
      .get("/api/me/activity?limit=100")
      .set("X-Session-Token", member.sessionToken)
      .expect(200)
    const items = fresh.body.items as {
      event: string
      actor: string
      ip: string | null
      device: string | null
      location: unknown
    }[]
    const events = items.map((i) => i.event)
    expect(events).not.toContain("admin.user_viewed")
    expect(events).not.toContain("admin.audit_exported")
    const changed = items.find((i) => i.event === "admin.manager_changed")
    expect(changed).toMatchObject({ actor: "admin", ip: null, device: null, location: null })
    // What the member did themselves keeps its device and address.
    const registered = items.find((i) => i.event === "auth.registered")
    expect(registered?.actor).toBe("self")
  })
})

import request from "supertest"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { enrolTotp, loginPassword, staff } from "../harness/flows"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/**
 * A person's choice of security mails (`/api/me/notifications`), against the outbox the
 * service writes in the audit entry's transaction and the SMTP sink that receives the mail.
 */

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)
const as = (token: string) => ({ "X-Session-Token": token })

interface Setting {
  kind: string
  enabled: boolean
  mandatory: boolean
}

async function outboxKinds(subjectId: string, event: string): Promise<string[]> {
  const rows = await serviceDb()<{ kind: string }[]>`
    select o.kind from notification_outbox o join audit_events a on a.event_id = o.audit_event_id
     where a.subject_id = ${subjectId} and a.event = ${event} order by o.kind`
  return rows.map((r) => r.kind)
}

async function entries(subjectId: string, event: string) {
  return serviceDb()<{ details: { changed?: Record<string, boolean> } }[]>`
    select details from audit_events where subject_id = ${subjectId} and event = ${event} order by id`
}

async function inboxFor(email: string): Promise<{ subject: string }[]> {
  const res = await fetch(stackInfo().mailMessagesUrl!)
  const all = (await res.json()) as { to: string[]; subject: string }[]
  return all.filter((m) => m.to.includes(email))
}

describe("a person's notification settings", () => {
  it("when a person reads their settings, then every mail about their own account is listed, on, with password changed and 2FA removed locked by the default policy", async () => {
    const person = await registerNative()
    const res = await api().get("/api/me/notifications").set(as(person.sessionToken))
    expect(res.status).toBe(200)
    const items = res.body.items as Setting[]
    expect(items.map((i) => i.kind)).toEqual(
      expect.arrayContaining([
        "user.password_changed",
        "user.2fa_disabled",
        "user.2fa_enabled",
        "user.new_device_login",
        "user.session_revoked",
        "user.security_key_added",
        "user.security_key_removed",
      ]),
    )
    expect(items.every((i) => i.enabled)).toBe(true)
    expect(items.filter((i) => i.mandatory).map((i) => i.kind)).toEqual([
      "user.password_changed",
      "user.2fa_disabled",
    ])
    // No manager or security-team mail is the person's to choose.
    expect(items.some((i) => !i.kind.startsWith("user."))).toBe(false)
  })

  it("when a person switches the 2FA-enabled mail off, then enrolling an authenticator queues and sends them nothing, and switching it on again is audited and mails the next time", async () => {
    const person = await registerNative()
    const off = await api()
      .put("/api/me/notifications")
      .set(as(person.sessionToken))
      .send({ "user.2fa_enabled": false })
    expect(off.status).toBe(200)
    expect(off.body.items.find((i: Setting) => i.kind === "user.2fa_enabled").enabled).toBe(false)
    expect(
      (await entries(person.identityId, "auth.notification_settings_changed")).map(
        (e) => e.details.changed,
      ),
    ).toEqual([{ "user.2fa_enabled": false }])
    // The same again changes nothing and records nothing.
    const same = await api()
      .put("/api/me/notifications")
      .set(as(person.sessionToken))
      .send({ "user.2fa_enabled": false })
    expect(same.status).toBe(200)
    expect(await entries(person.identityId, "auth.notification_settings_changed")).toHaveLength(1)

    await enrolTotp(person.sessionToken)
    await eventually(async () =>
      expect(await entries(person.identityId, "auth.2fa_enabled")).toHaveLength(1),
    )
    expect(await outboxKinds(person.identityId, "auth.2fa_enabled")).toEqual([])

    // Someone who kept it on gets the new mail.
    const other = await registerNative()
    await enrolTotp(other.sessionToken)
    await eventually(async () =>
      expect(await outboxKinds(other.identityId, "auth.2fa_enabled")).toEqual(["user.2fa_enabled"]),
    )
    await eventually(
      async () =>
        expect((await inboxFor(other.email)).map((m) => m.subject)).toContain(
          "Two-factor authentication was turned on",
        ),
      20_000,
    )
    expect((await inboxFor(person.email)).map((m) => m.subject)).not.toContain(
      "Two-factor authentication was turned on",
    )

    const on = await api()
      .put("/api/me/notifications")
      .set(as(person.sessionToken))
      .send({ "user.2fa_enabled": true })
    expect(on.status).toBe(200)
    expect(
      (await entries(person.identityId, "auth.notification_settings_changed")).map(
        (e) => e.details.changed,
      ),
    ).toEqual([{ "user.2fa_enabled": false }, { "user.2fa_enabled": true }])
  })

  it("when a person tries to switch a mandatory mail off, then it is 409, nothing changes and nothing is recorded", async () => {
    const person = await registerNative()
    const res = await api()
      .put("/api/me/notifications")
      .set(as(person.sessionToken))
      .send({ "user.password_changed": false, "user.new_device_login": false })
    expect(res.status).toBe(409)
    expect(res.body.error.reason).toBe("notification_mandatory")
    const after = await api().get("/api/me/notifications").set(as(person.sessionToken))
    expect(after.body.items.every((i: Setting) => i.enabled)).toBe(true)
    expect(await entries(person.identityId, "auth.notification_settings_changed")).toEqual([])
    const rows =
      await serviceDb()`select 1 from notification_preferences where identity_id = ${person.identityId}`
    expect(rows).toHaveLength(0)
  })

  it("when the organisation makes a mail mandatory that a person had switched off, then it is shown locked and sent to them", async () => {
    const boss = await staff("super_admin")
    const person = await registerNative()
    const off = await api()
      .put("/api/me/notifications")
      .set(as(person.sessionToken))
      .send({ "user.2fa_enabled": false })
    expect(off.status).toBe(200)
    const before = await api().get("/api/admin/policy").set(as(boss.token))
    expect(before.body.mandatory_notifications).toEqual([
      "user.password_changed",
      "user.2fa_disabled",
    ])
    const stricter = await api()
      .put("/api/admin/policy")
      .set(as(boss.token))
      .send({
        mandatory_notifications: ["user.password_changed", "user.2fa_disabled", "user.2fa_enabled"],
      })
    expect(stricter.status).toBe(200)
    try {
      const shown = await api().get("/api/me/notifications").set(as(person.sessionToken))
      expect(shown.body.items.find((i: Setting) => i.kind === "user.2fa_enabled")).toEqual({
        kind: "user.2fa_enabled",
        enabled: true,
        mandatory: true,
      })
      await enrolTotp(person.sessionToken)
      await eventually(async () =>
        expect(await outboxKinds(person.identityId, "auth.2fa_enabled")).toEqual([
          "user.2fa_enabled",
        ]),
      )
    } finally {
      const back = await api()
        .put("/api/admin/policy")
        .set(as(boss.token))
        .send({ mandatory_notifications: ["user.password_changed", "user.2fa_disabled"] })
      expect(back.status).toBe(200)
    }
    // A kind that is no person's own mail can't be made mandatory.
    const bad = await api()
      .put("/api/admin/policy")
      .set(as(boss.token))
      .send({ mandatory_notifications: ["admin_2fa_reset.manager"] })
    expect(bad.status).toBe(400)
  })

  it("when a person signs out one of their other sessions, then they get the new 'session signed out' mail", async () => {
    const person = await registerNative()
    // A second session of the same person, to sign out from the first.
    await loginPassword(person.email)
    const list = await api().get("/api/me/sessions").set(as(person.sessionToken))
    const other = list.body.sessions.find((s: { current: boolean }) => !s.current)
    expect(other).toBeDefined()
    const revoked = await api().delete(`/api/me/sessions/${other.id}`).set(as(person.sessionToken))
    expect(revoked.status).toBe(200)
    await eventually(async () =>
      expect(await outboxKinds(person.identityId, "auth.session_revoked")).toEqual([
        "user.session_revoked",
      ]),
    )
  })

  it("when the body names an unknown mail, a value that is no boolean, or nothing, then it is 400", async () => {
    const person = await registerNative()
    for (const body of [{ "user.nope": false }, { "user.2fa_enabled": "no" }, {}, [], "x"]) {
      const res = await api()
        .put("/api/me/notifications")
        .set(as(person.sessionToken))
        .send(body as object)
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400])
    }
    expect((await api().get("/api/me/notifications?x=1").set(as(person.sessionToken))).status).toBe(
      400,
    )
    expect((await api().get("/api/me/notifications")).status).toBe(401)
  })
})

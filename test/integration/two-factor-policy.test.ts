import request from "supertest"
import { closeServiceDb, serviceDb } from "../harness/db"
import {
  credentialTypes,
  enrolRecoveryCodes,
  enrolTotp,
  flowMessages,
  loginPassword,
  setRole,
  stepUpTotp,
  submitSettings,
} from "../harness/flows"
import { eventually } from "../harness/eventually"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const gate = (token: string) =>
  request(stackInfo().publicUrl).get("/api/auth/gate").set("X-Session-Token", token)

const DAY = 86_400_000

async function auditEvents(identityId: string): Promise<string[]> {
  const rows = await serviceDb()<{ event: string }[]>`
    select event from audit_events where subject_id = ${identityId} order by id`
  return rows.map((r) => r.event)
}

describe("role-based 2FA through real Kratos flows", () => {
  it("when an admin has no 2FA past the grace period, then the gate sends them to enrol; after enrolling they must step up, then pass", async () => {
    const user = await registerNative()
    await setRole(user.identityId, "admin", new Date(Date.now() - 10 * DAY))

    const before = await gate(user.sessionToken)
    expect(before.status).toBe(403)
    expect(before.body.error).toMatchObject({ reason: "mfa_enrollment_required" })
    expect(before.body.error.redirect_to).toMatch(/\/settings\?tab=security/)

    const { secret } = await enrolTotp(user.sessionToken)
    expect(await credentialTypes(user.identityId)).toContain("totp")
    await eventually(async () =>
      expect(await auditEvents(user.identityId)).toContain("auth.2fa_enabled"),
    )

    const aal1 = await loginPassword(user.email)
    const stepUp = await gate(aal1)
    expect(stepUp.status).toBe(403)
    expect(stepUp.body.error.reason).toBe("aal2_required")
    expect(stepUp.body.error.redirect_to).toMatch(/\/self-service\/login\/browser\?aal=aal2/)

    await stepUpTotp(aal1, secret)
    const logins = await serviceDb()<{ method: string; aal: string }[]>`
      select details->>'method' as method, details->>'aal' as aal from audit_events
      where subject_id = ${user.identityId} and event = 'auth.login' order by id`
    expect(logins).toEqual([
      { method: "password", aal: "aal1" },
      { method: "totp", aal: "aal2" },
    ])
    const ok = await gate(aal1)
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ identity_id: user.identityId, role: "admin", aal: "aal2" })
    expect(ok.headers["x-identity-role"]).toBe("admin")
  })

  it("when an admin is still inside the grace period, then the gate lets them through with the deadline", async () => {
    const user = await registerNative()
    await setRole(user.identityId, "admin")
    const res = await gate(user.sessionToken)
    expect(res.status).toBe(200)
    expect(res.body.mfa).toMatchObject({ required: true, required_by: "role", enrolled: false })
    expect(new Date(res.body.mfa.deadline).getTime()).toBeGreaterThan(Date.now())
  })

  it("when there is no session, then the gate answers 401", async () => {
    const res = await request(stackInfo().publicUrl).get("/api/auth/gate")
    expect(res.status).toBe(401)
  })

  it("when an admin unlinks their only TOTP, then the flow shows the 2FA-required message and Kratos keeps the credential", async () => {
    const user = await registerNative()
    const { secret } = await enrolTotp(user.sessionToken)
    await setRole(user.identityId, "admin")
    await stepUpTotp(user.sessionToken, secret)

    const res = await submitSettings(user.sessionToken, { method: "totp", totp_unlink: true })
    expect(res.status).toBe(400)
    expect(flowMessages(res.flow)).toContain(4100101)
    expect(JSON.stringify(res.flow.ui.messages)).toMatch(
      /Your role requires two-factor authentication/,
    )
    expect(await credentialTypes(user.identityId)).toContain("totp")
    expect(await auditEvents(user.identityId)).not.toContain("auth.2fa_disabled")
  })

  it("when an admin turns off their recovery codes, then it is refused and the codes stay; regenerating is allowed", async () => {
    const user = await registerNative()
    const { secret } = await enrolTotp(user.sessionToken)
    expect(await enrolRecoveryCodes(user.sessionToken)).toBe(12)
    await setRole(user.identityId, "admin")
    await stepUpTotp(user.sessionToken, secret)

    const res = await submitSettings(user.sessionToken, {
      method: "lookup_secret",
      lookup_secret_disable: true,
    })
    expect(res.status).toBe(400)
    expect(flowMessages(res.flow)).toContain(4100102)
    expect(await credentialTypes(user.identityId)).toContain("lookup_secret")

    await enrolRecoveryCodes(user.sessionToken)
    await eventually(async () => {
      const events = await auditEvents(user.identityId)
      expect(events.filter((e) => e === "auth.2fa_recovery_codes_regenerated")).toHaveLength(2)
    })
  })

  it("when a member unlinks their TOTP, then it is allowed and audited", async () => {
    const user = await registerNative()
    const { secret } = await enrolTotp(user.sessionToken)
    await stepUpTotp(user.sessionToken, secret)

    const res = await submitSettings(user.sessionToken, { method: "totp", totp_unlink: true })
    expect(res.status).toBe(200)
    expect(await credentialTypes(user.identityId)).not.toContain("totp")
    await eventually(async () =>
      expect(await auditEvents(user.identityId)).toEqual(
        expect.arrayContaining(["auth.registered", "auth.2fa_enabled", "auth.2fa_disabled"]),
      ),
    )
  })

  it("when a profile update tries to put a role into the traits, then it is refused and nothing changes", async () => {
    const user = await registerNative()
    const res = await submitSettings(user.sessionToken, {
      method: "profile",
      traits: { email: user.email, role: "super_admin" },
    })
    expect(res.status).toBe(400)
    const { data } = await (
      await import("../harness/kratos")
    )
      .kratosClients()
      .identities.getIdentity({
        id: user.identityId,
      })
    expect(data.traits).not.toHaveProperty("role")
    expect((data.metadata_public as { role: string }).role).toBe("member")
  })
})

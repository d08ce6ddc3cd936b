import type { Session } from "@ory/client"
import { decideGate } from "../../webhooks/domain/gate"
import { key, policy, summary } from "../harness/summaries"

const URL = "https://id.example.com"
const session = (aal: string) =>
  ({ id: "s", authenticator_assurance_level: aal }) as unknown as Session
const now = new Date("2026-11-10T00:00:00Z")
const admin = (over = {}) =>
  summary({
    role: "admin",
    metadataPublic: { role: "admin", role_assigned_at: "2026-11-08T00:00:00Z" },
    ...over,
  })

function gate(s = summary(), aal = "aal1", p = policy()) {
  return decideGate({
    session: session(aal),
    summary: s,
    policy: p,
    publicUrl: URL,
    returnTo: null,
    passwordChangedAt: "2026-10-01T10:00:00.000Z",
    now,
  })
}

describe("the gate", () => {
  it("when a member without 2FA asks, then they pass with nothing required", () => {
    expect(gate()).toMatchObject({
      allow: true,
      role: "member",
      mfa: { required: false, enrolled: false },
    })
  })

  it("when an admin without 2FA is inside the grace period, then they pass with the deadline", () => {
    const d = gate(admin())
    expect(d).toMatchObject({
      allow: true,
      mfa: { required: true, requiredBy: "role", deadline: "2026-11-11T00:00:00.000Z" },
    })
    expect(d.allow && d.warnings).toContain("mfa_enrollment_pending")
  })

  it("when the grace period is over, then the admin is sent to enrol", () => {
    const d = gate(admin(), "aal1", policy({ mfaGracePeriodHours: 24 }))
    expect(d).toMatchObject({ allow: false, reason: "mfa_enrollment_required" })
    expect(!d.allow && d.redirectTo).toBe(`${URL}/settings?tab=security&reason=mfa_enrollment`)
  })

  it("when someone with a second factor has an AAL1 session, then they must step up", () => {
    const d = gate(admin({ totp: { createdAt: null } }), "aal1")
    expect(d).toMatchObject({ allow: false, reason: "aal2_required" })
    expect(!d.allow && d.redirectTo).toMatch(/\/self-service\/login\/browser\?aal=aal2&return_to=/)
    expect(gate(admin({ webauthn: [key("k")] }), "aal2")).toMatchObject({ allow: true })
  })

  it("when a forced password change is pending, then the person is sent to change it", () => {
    const s = summary({
      metadataPublic: {
        role: "member",
        force_password_change: { required: true, set_at: "2026-11-09T00:00:00Z", set_by: "x" },
      },
    })
    expect(gate(s)).toMatchObject({ allow: false, reason: "password_change_required" })
  })

  it("when the rotation interval has passed, then the person passes with a warning", () => {
    const d = gate(summary(), "aal1", policy({ passwordRotationDays: 30 }))
    expect(d.allow && d.warnings).toContain("password_rotation_due")
  })
})

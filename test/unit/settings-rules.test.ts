import {
  checkSettingsChange,
  refusalIds,
  type RuleInput,
} from "../../webhooks/domain/settings-rules"
import { key, policy, summary } from "../harness/summaries"

const admin = (over = {}) => summary({ role: "admin", metadataPublic: { role: "admin" }, ...over })

function check(over: Partial<RuleInput>) {
  return checkSettingsChange({
    method: "totp",
    intent: { kind: "totp_link" },
    before: summary(),
    policy: policy(),
    newTraits: { email: "ada@example.com" },
    passwordChangesLastHour: 0,
    maxPasswordChangesPerHour: 5,
    ...over,
  })
}

describe("settings rules: 2FA can't be escaped", () => {
  it("when an admin unlinks TOTP, their only second factor, then it is refused with the role as the reason", () => {
    const r = check({
      intent: { kind: "totp_unlink" },
      before: admin({ totp: { createdAt: null } }),
    })
    expect(r?.id).toBe(refusalIds.totpOnlyFactor)
    expect(r?.text).toMatch(/Your role requires two-factor authentication/)
  })

  it("when an admin unlinks TOTP but keeps a security key, then it is allowed", () => {
    const before = admin({ totp: { createdAt: null }, webauthn: [key("a1")] })
    expect(check({ intent: { kind: "totp_unlink" }, before })).toBeNull()
  })

  it("when a member unlinks their only TOTP, then it is allowed", () => {
    expect(
      check({ intent: { kind: "totp_unlink" }, before: summary({ totp: { createdAt: null } }) }),
    ).toBeNull()
  })

  it("when everyone must have 2FA, then a member's only TOTP can't be removed either, and the org is named", () => {
    const r = check({
      intent: { kind: "totp_unlink" },
      before: summary({ totp: { createdAt: null } }),
      policy: policy({ require2faForEveryone: true }),
    })
    expect(r?.text).toMatch(/Your organisation requires/)
  })

  it("when an admin removes their last MFA security key, then it is refused, whether the id is hex or base64", () => {
    const id = Buffer.from("key-one").toString("base64")
    const hex = Buffer.from("key-one").toString("hex")
    const before = admin({ webauthn: [key(id), key("cGFzc3dvcmRsZXNz", true)] })
    expect(
      check({ method: "webauthn", intent: { kind: "webauthn_remove", keyId: hex }, before })?.id,
    ).toBe(refusalIds.lastSecurityKey)
  })

  it("when an admin removes one of two security keys, then it is allowed", () => {
    const before = admin({ webauthn: [key("a1"), key("b2")] })
    expect(
      check({ method: "webauthn", intent: { kind: "webauthn_remove", keyId: "a1" }, before }),
    ).toBeNull()
  })

  it("when an admin turns off recovery codes, then it is refused; a member may", () => {
    const r = check({
      method: "lookup_secret",
      intent: { kind: "recovery_codes_disable" },
      before: admin(),
    })
    expect(r?.id).toBe(refusalIds.recoveryCodesRequired)
    expect(
      check({ method: "lookup_secret", intent: { kind: "recovery_codes_disable" } }),
    ).toBeNull()
  })

  it("when an admin regenerates recovery codes, then it is allowed", () => {
    expect(
      check({
        method: "lookup_secret",
        intent: { kind: "recovery_codes_confirm" },
        before: admin(),
      }),
    ).toBeNull()
  })
})

describe("settings rules: passwords and profile", () => {
  it("when a sixth password change comes within the hour, then it is refused under the password field", () => {
    const r = check({
      method: "password",
      intent: { kind: "password_change" },
      passwordChangesLastHour: 5,
    })
    expect(r).toMatchObject({ id: refusalIds.passwordChangeRate, pointer: "#/password" })
    expect(
      check({
        method: "password",
        intent: { kind: "password_change" },
        passwordChangesLastHour: 4,
      }),
    ).toBeNull()
  })

  it("when the organisation requires single sign-on, then password changes are refused", () => {
    const r = check({
      method: "password",
      intent: { kind: "password_change" },
      policy: policy({ ssoRequired: true }),
    })
    expect(r?.id).toBe(refusalIds.ssoRequired)
  })

  it.each(["role", "roles", "manager_id", "force_password_change", "metadata_public"])(
    "when a profile update smuggles %s into traits, then it is refused",
    (field) => {
      const r = check({
        method: "profile",
        intent: { kind: "profile_update" },
        newTraits: { email: "a@b.c", [field]: "x" },
      })
      expect(r?.id).toBe(refusalIds.protectedTraits)
    },
  )
})

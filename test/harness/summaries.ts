import type { CredentialSummary } from "../../webhooks/kratos/identity"
import type { OrgPolicy } from "../../webhooks/domain/org-policy"

/** A credential summary for unit tests, as the admin API would give it (no secrets). */
export function summary(over: Partial<CredentialSummary> = {}): CredentialSummary {
  return {
    identityId: "11111111-1111-4111-8111-111111111111",
    updatedAt: "2026-11-01T10:00:00.000Z",
    createdAt: "2026-10-01T10:00:00.000Z",
    state: "active",
    role: "member",
    metadataPublic: { role: "member" },
    managerId: null,
    metadataAdmin: {},
    email: "ada@example.com",
    password: { updatedAt: "2026-10-01T10:00:00.000Z", fingerprint: "fp-original" },
    totp: null,
    lookupSecret: null,
    webauthn: [],
    passkeys: [],
    ...over,
  }
}

export function policy(over: Partial<OrgPolicy> = {}): OrgPolicy {
  return {
    rolesRequiring2fa: ["admin", "super_admin"],
    require2faForEveryone: false,
    mfaGracePeriodHours: 72,
    passwordRotationDays: null,
    ssoRequired: false,
    mandatoryNotifications: ["user.password_changed", "user.2fa_disabled"],
    coverageSince: {},
    updatedAt: new Date("2026-01-01T00:00:00Z"),
    updatedBy: null,
    ...over,
  }
}

export const key = (id: string, passwordless = false) => ({
  id,
  displayName: `key ${id}`,
  addedAt: "2026-10-02T10:00:00.000Z",
  passwordless,
})

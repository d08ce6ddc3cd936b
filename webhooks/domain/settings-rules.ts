import type { SettingsMethod } from "../../kratos/hooks/bodies"
import { secondFactors, webauthnIdToHex, type CredentialSummary } from "../kratos/identity"
import { SSO_PASSWORD_TEXT } from "../proxy/refusals"
import { requires2fa } from "../policy/roles"
import type { OrgPolicy } from "./org-policy"

/** What a settings submission does, as far as kratos-guard cares. */
export type SettingsIntent =
  | { kind: "password_change" }
  | { kind: "totp_link" }
  | { kind: "totp_unlink" }
  | { kind: "recovery_codes_confirm" }
  | { kind: "recovery_codes_disable" }
  | { kind: "webauthn_add" }
  | { kind: "webauthn_remove"; keyId: string }
  | { kind: "passkey_add" }
  | { kind: "passkey_remove"; keyId: string }
  | { kind: "profile_update" }

export interface Refusal {
  id: number
  text: string
  /** JSON pointer of the field the message belongs to; "#/" shows it on the whole form. */
  pointer: string
}

/** Message ids of kratos-guard's refusals (Kratos's own ids are below 4100000). */
export const refusalIds = {
  totpOnlyFactor: 4100101,
  recoveryCodesRequired: 4100102,
  lastSecurityKey: 4100103,
  passwordChangeRate: 4100104,
  protectedTraits: 4100105,
  ssoRequired: 4100010,
} as const

/** Trait names that must never be set by the user: roles, manager links and flags. */
const PROTECTED_TRAITS =
  /^(roles?|manager(_id)?|super_?admin|admin|force_password_change|mfa.*|metadata.*)$/i

export interface RuleInput {
  method: SettingsMethod
  intent: SettingsIntent
  before: CredentialSummary
  policy: OrgPolicy
  newTraits: Record<string, unknown>
  passwordChangesLastHour: number
  maxPasswordChangesPerHour: number
}

/**
 * The rules a settings change must pass before Kratos persists it. Returns the first refusal,
 * or null. Pure: everything it needs is read beforehand, so it is tested without Kratos.
 */
export function checkSettingsChange(input: RuleInput): Refusal | null {
  const { intent, before, policy } = input
  const need = requires2fa(policy, before.role)
  const because =
    need.by === "org"
      ? "Your organisation requires two-factor authentication"
      : "Your role requires two-factor authentication"

  switch (intent.kind) {
    case "profile_update": {
      const bad = Object.keys(input.newTraits).filter((k) => PROTECTED_TRAITS.test(k))
      if (bad.length > 0) {
        return {
          id: refusalIds.protectedTraits,
          text: "Roles, managers and account flags can't be changed from your profile.",
          pointer: "#/",
        }
      }
      return null
    }
    case "password_change":
      if (policy.ssoRequired) {
        return {
          id: refusalIds.ssoRequired,
          text: SSO_PASSWORD_TEXT,
          pointer: "#/password",
        }
      }
      if (input.passwordChangesLastHour >= input.maxPasswordChangesPerHour) {
        return {
          id: refusalIds.passwordChangeRate,
          text: `You have changed your password ${input.maxPasswordChangesPerHour} times in the last hour. Please try again later.`,
          pointer: "#/password",
        }
      }
      return null
    case "totp_unlink":
      if (need.required && remainingFactors(before, "totp") === 0) {
        return {
          id: refusalIds.totpOnlyFactor,
          text: `${because}, so your authenticator app can't be removed while it is your only second factor. Add a security key first, or ask an admin to reset your two-factor authentication.`,
          pointer: "#/",
        }
      }
      return null
    case "recovery_codes_disable":
      if (need.required) {
        return {
          id: refusalIds.recoveryCodesRequired,
          text: `${because}: your recovery codes can be regenerated, but not turned off.`,
          pointer: "#/",
        }
      }
      return null
    case "webauthn_remove":
      if (need.required && remainingFactors(before, `webauthn:${intent.keyId}`) === 0) {
        return {
          id: refusalIds.lastSecurityKey,
          text: `${because}, so your last security key can't be removed. Set up an authenticator app first, or ask an admin to reset your two-factor authentication.`,
          pointer: "#/",
        }
      }
      return null
    default:
      return null
  }
}

/** Second factors left after removing one (WebAuthn ids compared in hex). */
function remainingFactors(before: CredentialSummary, removed: string): number {
  const target = removed.startsWith("webauthn:")
    ? `webauthn:${webauthnIdToHex(removed.slice(9))}`
    : removed
  return secondFactors(before)
    .map((f) => (f.startsWith("webauthn:") ? `webauthn:${webauthnIdToHex(f.slice(9))}` : f))
    .filter((f) => f !== target).length
}

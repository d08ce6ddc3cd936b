import type { SettingsMethod } from "../../kratos/hooks/bodies"
import { fingerprint, type CredentialSummary, type WebauthnKey } from "../kratos/identity"
import type { AuditEventName } from "./audit"

export interface ChangeEvent {
  event: AuditEventName
  /**
   * Identifies the resulting state (the new password's fingerprint, the key added, …), so the
   * dedup key is the same whoever reports the change (post-persist hook, a replay of it, the
   * reconciler) and differs between two changes made on one flow.
   */
  discriminator: string
  details: Record<string, unknown>
}

/**
 * The audit events a persisted settings change amounts to, read from the credential summaries
 * before and after it. `before` is null when the pre-persist record is missing; then only what
 * the after-state proves is reported.
 */
export function changeEvents(
  method: SettingsMethod,
  before: CredentialSummary | null,
  after: CredentialSummary,
  traits?: { previous: Record<string, unknown>; current: Record<string, unknown> },
): ChangeEvent[] {
  switch (method) {
    case "password":
      if (
        before?.password?.fingerprint &&
        before.password.fingerprint === after.password?.fingerprint
      ) {
        return []
      }
      return [
        {
          event: "auth.password_changed",
          discriminator: after.password?.fingerprint ?? "",
          details: {},
        },
      ]
    case "totp": {
      const had = before ? before.totp !== null : null
      if (after.totp && had !== true) {
        return [
          {
            event: "auth.2fa_enabled",
            discriminator: `totp:${after.totp.createdAt}`,
            details: { method: "totp" },
          },
        ]
      }
      if (!after.totp && had !== false) {
        return [
          {
            event: "auth.2fa_disabled",
            discriminator: `totp:${before?.totp?.createdAt ?? "unknown"}`,
            details: { method: "totp" },
          },
        ]
      }
      return []
    }
    case "lookup_secret": {
      if (!after.lookupSecret) {
        if (before && !before.lookupSecret) return []
        return [
          {
            event: "auth.2fa_disabled",
            discriminator: `lookup_secret:${before?.lookupSecret?.fingerprint ?? "unknown"}`,
            details: { method: "lookup_secret" },
          },
        ]
      }
      if (
        before?.lookupSecret &&
        before.lookupSecret.fingerprint === after.lookupSecret.fingerprint
      ) {
        return []
      }
      return [
        {
          event: "auth.2fa_recovery_codes_regenerated",
          discriminator: after.lookupSecret.fingerprint,
          details: { codes: after.lookupSecret.total },
        },
      ]
    }
    case "webauthn":
      return keyEvents(
        before?.webauthn ?? null,
        after.webauthn,
        "auth.webauthn_added",
        "auth.webauthn_removed",
      )
    case "passkey":
      return keyEvents(
        before?.passkeys ?? null,
        after.passkeys,
        "auth.passkey_added",
        "auth.passkey_removed",
      )
    case "profile": {
      if (!traits) return []
      const fields = changedFields(traits.previous, traits.current)
      return fields.length > 0
        ? [
            {
              event: "auth.profile_updated",
              discriminator: fingerprint(JSON.stringify(traits.current)),
              details: { fields },
            },
          ]
        : []
    }
  }
}

function keyEvents(
  before: WebauthnKey[] | null,
  after: WebauthnKey[],
  added: AuditEventName,
  removed: AuditEventName,
): ChangeEvent[] {
  // Without the before-state nothing can be proved about which key changed.
  if (!before) return []
  const beforeIds = new Set(before.map((k) => k.id))
  const afterIds = new Set(after.map((k) => k.id))
  const key = (k: WebauthnKey) => ({
    key_id: k.id,
    name: k.displayName,
    passwordless: k.passwordless,
  })
  return [
    ...after
      .filter((k) => !beforeIds.has(k.id))
      .map((k) => ({ event: added, discriminator: k.id, details: key(k) })),
    ...before
      .filter((k) => !afterIds.has(k.id))
      .map((k) => ({ event: removed, discriminator: k.id, details: key(k) })),
  ]
}

function changedFields(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  prefix = "",
): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])
  const out: string[] = []
  for (const k of keys) {
    const va = a?.[k]
    const vb = b?.[k]
    const path = prefix ? `${prefix}.${k}` : k
    if (isObject(va) && isObject(vb)) out.push(...changedFields(va, vb, path))
    else if (JSON.stringify(va) !== JSON.stringify(vb)) out.push(path)
  }
  return out.sort()
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

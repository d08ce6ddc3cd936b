import type { AuditEventName } from "../audit"
import type { NotificationKind } from "./templates"

export interface RecipientInput {
  event: AuditEventName
  subject: { id: string; email: string | null; managerEmail?: string | null }
  securityTeam?: readonly string[]
  /** auth.login only: the login came from a device not seen before for this account. */
  newDevice?: boolean
}

export interface Recipient {
  kind: NotificationKind
  to: string
}

const USER_KINDS: Partial<Record<AuditEventName, NotificationKind>> = {
  "auth.password_changed": "user.password_changed",
  "auth.2fa_disabled": "user.2fa_disabled",
  "auth.2fa_recovery_codes_regenerated": "user.recovery_codes_regenerated",
  "auth.recovery_code_used": "user.recovery_code_used",
  "auth.2fa_enabled": "user.2fa_enabled",
  "auth.session_revoked": "user.session_revoked",
  "auth.webauthn_added": "user.security_key_added",
  "auth.webauthn_removed": "user.security_key_removed",
  "auth.passkey_added": "user.security_key_added",
  "auth.passkey_removed": "user.security_key_removed",
}

const OVERSIGHT_KINDS: Partial<Record<AuditEventName, [NotificationKind, NotificationKind]>> = {
  "auth.force_password_change_cleared": [
    "force_change_completed.manager",
    "force_change_completed.security",
  ],
  "admin.2fa_reset": ["admin_2fa_reset.manager", "admin_2fa_reset.security"],
  "admin.user_deactivated": ["user_deactivated.manager", "user_deactivated.security"],
}

/** Lost-device recovery requests: the person, and for some steps their manager and security. */
const RECOVERY_KINDS: Partial<
  Record<
    AuditEventName,
    { user?: NotificationKind; manager?: NotificationKind; security?: NotificationKind }
  >
> = {
  "auth.recovery_request_code_sent": { user: "user.recovery_request_code" },
  "auth.recovery_requested": {
    user: "user.recovery_requested",
    manager: "recovery_requested.manager",
    security: "recovery_requested.security",
  },
  "admin.recovery_request_first_approval": {
    security: "recovery_request_second_approval.security",
  },
  "admin.recovery_request_approved": { user: "user.recovery_request_approved" },
  "admin.recovery_request_denied": {
    user: "user.recovery_request_denied",
    manager: "recovery_request_denied.manager",
    security: "recovery_request_denied.security",
  },
  "system.recovery_request_expired": { user: "user.recovery_request_expired" },
}

/**
 * Who is told about an audited event: the user on changes to their own sign-in, the manager
 * and the security team on what an administrator did or required. Each address once per event
 * (a manager who is also on the security team gets the manager's mail), compared
 * case-insensitively. Events not listed notify nobody.
 */
export function recipientsFor(input: RecipientInput): Recipient[] {
  const out: Recipient[] = []
  const seen = new Set<string>()
  const add = (kind: NotificationKind, to: string | null | undefined) => {
    const addr = to?.trim()
    if (!addr) return
    const key = addr.toLowerCase()
    if (seen.has(key)) return
    seen.add(key)
    out.push({ kind, to: addr })
  }
  if (input.event === "auth.login") {
    if (input.newDevice) add("user.new_device_login", input.subject.email)
    return out
  }
  const recovery = RECOVERY_KINDS[input.event]
  if (recovery) {
    if (recovery.user) add(recovery.user, input.subject.email)
    if (recovery.manager) add(recovery.manager, input.subject.managerEmail)
    for (const to of recovery.security ? (input.securityTeam ?? []) : [])
      add(recovery.security!, to)
    return out
  }
  const userKind = USER_KINDS[input.event]
  if (userKind) {
    add(userKind, input.subject.email)
    return out
  }
  const oversight = OVERSIGHT_KINDS[input.event]
  if (oversight) {
    add(oversight[0], input.subject.managerEmail)
    for (const to of input.securityTeam ?? []) add(oversight[1], to)
  }
  return out
}

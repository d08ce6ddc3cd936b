// Shapes of the admin API's answers, as far as the console reads them.

export const roles = ["member", "admin", "super_admin"] as const
export type Role = (typeof roles)[number]

export const roleLabels: Record<Role, string> = {
  member: "Member",
  admin: "Admin",
  super_admin: "Super admin",
}

export type UserListItem = {
  id: string
  email: string | null
  name: string | null
  role: Role
  state: string | null
  created_at: string | null
  /** Absent from services that predate it; the console then shows "unknown". */
  second_factors?: string[]
  force_password_change?: boolean
}

export type UserList = { users: UserListItem[]; total: number; nextOffset: number | null }

export type UserSession = {
  id: string
  aal?: string
  authenticated_at?: string
  expires_at?: string
  devices: { ip?: string | null; user_agent?: string | null }[]
}

export type UserDetail = {
  id: string
  email: string | null
  state: string | null
  role: Role
  created_at: string | null
  manager: { id: string; email: string | null } | null
  /** Who is mailed when an admin resets their 2FA or deactivates them. */
  notified: { manager: boolean; security_team: boolean }
  force_password_change: {
    required: boolean
    set_at: string
    set_by: string
    cleared_at?: string | null
  } | null
  posture: {
    role: Role
    methods: string[]
    second_factor: boolean
    webauthn_keys: number
    recovery_codes_left: number
    force_password_change: boolean
  }
  totp_enrolled_at: string | null
  security_keys: { name: string; added_at: string | null; passwordless: boolean }[]
  passkeys: number
  sessions: UserSession[]
}

export type Provisioned = {
  id: string
  email: string
  role: Role
  recovery_code: string
  recovery_link: string
  expires_at: string | null
}

export type OrgPolicy = {
  rolesRequiring2fa: Role[]
  require2faForEveryone: boolean
  mfaGracePeriodHours: number
  passwordRotationDays: number | null
  ssoRequired: boolean
  updatedAt: string
  updatedBy: string | null
}

export type AuditEntry = {
  id: number
  eventId: string
  occurredAt: string
  event: string
  actorType: "user" | "admin" | "system"
  actorId: string | null
  subjectId: string | null
  ip: string | null
  userAgent: string | null
  flowId: string | null
  requestId: string | null
  posture: Record<string, unknown> | null
  details: Record<string, unknown> | null
}

export type AuditPage = {
  items: AuditEntry[]
  next_cursor: string | null
  /** The email and name of the ids on the page that are people in Kratos. */
  people?: Record<string, { email: string | null; name: string | null }>
}

// The service's own type (a type-only import: no server code reaches the bundle).
export type { FailedNotification } from "../../../webhooks/domain/notifications/admin"
import type { FailedNotification } from "../../../webhooks/domain/notifications/admin"

export type NotificationPage = { items: FailedNotification[]; next_cursor: string | null }

/** The signed-in admin, from Kratos's whoami. */
export type Viewer = { id: string; email: string | null; role: Role }

/** Audit event names with the words the console shows for them. */
export const auditEventLabels: Record<string, string> = {
  "auth.registered": "Registered",
  "auth.login": "Signed in",
  "auth.password_changed": "Password changed",
  "auth.2fa_enabled": "2FA enabled",
  "auth.2fa_disabled": "2FA disabled",
  "auth.2fa_recovery_codes_regenerated": "Recovery codes regenerated",
  "auth.webauthn_added": "Security key added",
  "auth.webauthn_removed": "Security key removed",
  "auth.passkey_added": "Passkey added",
  "auth.passkey_removed": "Passkey removed",
  "auth.recovery_code_used": "Recovery code used",
  "auth.profile_updated": "Profile updated",
  "auth.session_revoked": "Session revoked",
  "auth.force_password_change_required": "Password change required",
  "auth.force_password_change_cleared": "Password change completed",
  "policy.updated": "Policy updated",
  "admin.role_changed": "Role changed",
  "admin.manager_changed": "Manager changed",
  "admin.2fa_reset": "2FA reset by admin",
  "admin.sessions_revoked": "Sessions revoked by admin",
  "admin.user_deactivated": "User deactivated",
  "admin.user_reactivated": "User reactivated",
  "admin.user_provisioned": "User provisioned",
  "admin.user_viewed": "User record viewed",
  "admin.viewed": "Admin page viewed",
  "admin.audit_exported": "Audit log exported",
  "system.authorization_repaired": "Kratos's copy of role and flags repaired",
}

export const notificationKindLabels: Record<string, string> = {
  "user.password_changed": "Password changed (to the user)",
  "user.2fa_disabled": "2FA disabled (to the user)",
  "user.recovery_codes_regenerated": "Recovery codes regenerated (to the user)",
  "user.recovery_code_used": "Recovery code used (to the user)",
  "user.new_device_login": "New device sign-in (to the user)",
  "force_change_completed.manager": "Forced change completed (to the manager)",
  "force_change_completed.security": "Forced change completed (to security)",
  "admin_2fa_reset.manager": "2FA reset (to the manager)",
  "admin_2fa_reset.security": "2FA reset (to security)",
  "user_deactivated.manager": "Deactivation (to the manager)",
  "user_deactivated.security": "Deactivation (to security)",
}

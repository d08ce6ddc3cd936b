import type { Role } from "../../../webhooks/policy/roles"
import type {
  EventDeliveryAnswer,
  EventDeliveryPageAnswer,
  EventSubscriberAnswer,
  EventSubscriberListAnswer,
  EventSubscriberSecretAnswer,
} from "../../../webhooks/routes/answers"
import type {
  AuditEntryAnswer,
  AuditPageAnswer,
  FailedNotificationAnswer,
  NotificationPageAnswer,
  PolicyAnswer,
  ProvisionedAnswer,
  RecoveryQueueAnswer,
  RecoveryQueueItem as RecoveryQueueItemAnswer,
  UserDetailAnswer,
  UserListAnswer,
  UserListItemAnswer,
  UserSessionAnswer,
} from "../../../webhooks/routes/answers"

export { roles, type Role } from "../../../webhooks/policy/roles"

export const roleLabels: Record<Role, string> = {
  member: "Member",
  admin: "Admin",
  super_admin: "Super admin",
}

// The admin API's answers are the service's own types (routes/answers.ts; type-only imports).
export type UserListItem = UserListItemAnswer
export type UserList = UserListAnswer
export type UserSession = UserSessionAnswer
export type UserDetail = UserDetailAnswer
export type Provisioned = ProvisionedAnswer
export type OrgPolicy = PolicyAnswer
export type AuditEntry = AuditEntryAnswer
export type RecoveryQueue = RecoveryQueueAnswer
export type RecoveryQueueItem = RecoveryQueueItemAnswer
export type AuditPage = AuditPageAnswer
export type FailedNotification = FailedNotificationAnswer
export type NotificationPage = NotificationPageAnswer
export type EventSubscriber = EventSubscriberAnswer
export type EventSubscriberList = EventSubscriberListAnswer
export type EventSubscriberSecret = EventSubscriberSecretAnswer
export type EventDelivery = EventDeliveryAnswer
export type EventDeliveryPage = EventDeliveryPageAnswer

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
  "auth.api_key_created": "API key created",
  "auth.api_key_revoked": "API key revoked",
  "auth.api_keys_revoked": "API keys revoked",
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
  "admin.api_key_created": "API key created by admin",
  "admin.api_key_revoked": "API key revoked by admin",
  "system.authorization_repaired": "Kratos's copy of role and flags repaired",
  "auth.notification_settings_changed": "Notification settings changed",
  "admin.event_subscriber_created": "Event subscriber added",
  "admin.event_subscriber_updated": "Event subscriber changed",
  "admin.event_subscriber_deleted": "Event subscriber removed",
  "admin.event_subscriber_secret_rotated": "Event subscriber secret rotated",
  "admin.event_replay_requested": "Security events replayed",
  "admin.event_delivery_retried": "Event delivery retried",
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
  "user.recovery_request_code": "Lost-device code (to the user)",
  "user.recovery_requested": "Lost-device request sent (to the user)",
  "user.recovery_request_approved": "Lost-device request approved (to the user)",
  "user.recovery_request_denied": "Lost-device request denied (to the user)",
  "user.recovery_request_expired": "Lost-device request expired (to the user)",
  "recovery_requested.manager": "Lost-device request (to the manager)",
  "recovery_requested.security": "Lost-device request (to security)",
  "recovery_request_second_approval.security": "Second approval needed (to security)",
  "recovery_request_denied.manager": "Lost-device request denied (to the manager)",
  "recovery_request_denied.security": "Lost-device request denied (to security)",
  "user.2fa_enabled": "2FA enabled (to the user)",
  "user.session_revoked": "Session signed out (to the user)",
  "user.security_key_added": "Security key or passkey added (to the user)",
  "user.security_key_removed": "Security key or passkey removed (to the user)",
}

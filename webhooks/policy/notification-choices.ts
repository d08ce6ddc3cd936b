/**
 * The security mails a person gets about their own account, which they may switch off unless
 * the organisation makes them mandatory (the Compliance page). Mails to a manager or the
 * security team are not the person's to choose and are not listed. Pure: the UI imports it.
 */
export const personNotificationKinds = [
  "user.password_changed",
  "user.2fa_disabled",
  "user.2fa_enabled",
  "user.recovery_codes_regenerated",
  "user.recovery_code_used",
  "user.new_device_login",
  "user.session_revoked",
  "user.security_key_added",
  "user.security_key_removed",
] as const
export type PersonNotificationKind = (typeof personNotificationKinds)[number]

/** Mandatory until an admin says otherwise: the two changes an attacker would make first. */
export const defaultMandatoryNotifications: PersonNotificationKind[] = [
  "user.password_changed",
  "user.2fa_disabled",
]

export const personNotificationLabels: Record<
  PersonNotificationKind,
  { label: string; description: string }
> = {
  "user.password_changed": {
    label: "Password changed",
    description: "When your password is changed, by you or through account recovery.",
  },
  "user.2fa_disabled": {
    label: "Two-factor authentication removed",
    description: "When an authenticator app or your last second factor is removed.",
  },
  "user.2fa_enabled": {
    label: "Two-factor authentication turned on",
    description: "When an authenticator app is added to your account.",
  },
  "user.recovery_codes_regenerated": {
    label: "New recovery codes",
    description: "When a new set of recovery codes replaces the old one.",
  },
  "user.recovery_code_used": {
    label: "Recovery code used",
    description: "When someone signs in with one of your recovery codes.",
  },
  "user.new_device_login": {
    label: "Sign-in from a new device",
    description: "When your account is used from a browser or device not seen before.",
  },
  "user.session_revoked": {
    label: "Session signed out",
    description: "When one of your sessions is signed out from the Security page.",
  },
  "user.security_key_added": {
    label: "Security key or passkey added",
    description: "When a security key or passkey is registered to your account.",
  },
  "user.security_key_removed": {
    label: "Security key or passkey removed",
    description: "When a security key or passkey is removed from your account.",
  },
}

export function isPersonNotificationKind(kind: string): kind is PersonNotificationKind {
  return (personNotificationKinds as readonly string[]).includes(kind)
}

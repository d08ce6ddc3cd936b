/** The roles kratos-guard knows, lowest first. */
export const roles = ["member", "admin", "super_admin"] as const
export type Role = (typeof roles)[number]

/** The parts of the organisation's policy that say who needs a second factor. */
export interface TwoFactorPolicy {
  require2faForEveryone: boolean
  rolesRequiring2fa: readonly Role[]
}

/** Whether role or organisation policy requires this person to have a second factor. */
export function requires2fa(
  policy: TwoFactorPolicy,
  role: Role,
): { required: boolean; by: "org" | "role" | null } {
  if (policy.require2faForEveryone) return { required: true, by: "org" }
  if (policy.rolesRequiring2fa.includes(role)) return { required: true, by: "role" }
  return { required: false, by: null }
}

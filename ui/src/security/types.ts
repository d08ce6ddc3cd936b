// The shapes the Security page reads are the service's own answer types (type-only imports: the
// bundle carries none of the server code).
export type { ActivityItem, SecurityOverview } from "../../../webhooks/domain/security-overview"
export type { SessionView } from "../../../webhooks/domain/sessions"
export type { Location } from "../../../webhooks/domain/device"

export const adminRoles = new Set(["admin", "super_admin"])

// The shapes the Security page reads are the service's answer types (routes/answers.ts; type-only
// imports: the bundle carries none of the server code).
import type {
  ActivityItemAnswer,
  ApiKeyAnswer,
  ApiKeyCreatedAnswer,
  ApiKeyListAnswer,
  NotificationSettingsAnswer,
  SecurityOverviewAnswer,
  SessionViewAnswer,
} from "../../../webhooks/routes/answers"

export type SecurityOverview = SecurityOverviewAnswer
export type ActivityItem = ActivityItemAnswer
export type SessionView = SessionViewAnswer
export type ApiKey = ApiKeyAnswer
export type ApiKeyList = ApiKeyListAnswer
export type ApiKeyCreated = ApiKeyCreatedAnswer
export type NotificationSetting = NotificationSettingsAnswer["items"][number]
export type Location = NonNullable<SessionView["location"]>

export const adminRoles = new Set(["admin", "super_admin"])

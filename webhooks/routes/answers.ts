import { z } from "zod"
import type { AuditRow } from "../domain/audit-queries"
import type { FailedNotification } from "../domain/notifications/admin"
import type { OrgPolicy, OrgPolicyUpdate } from "../domain/org-policy"
import type { SubscriberView } from "../domain/security-events/subscribers"
import type { DeliveryRow } from "../domain/security-events/types"
import { personNotificationKinds } from "../policy/notification-choices"
import { roles } from "../policy/roles"

/**
 * What every `/api` route answers, as zod schemas: the one description of the API's shapes.
 * Field names are snake_case throughout, as in Kratos's own API. The UI imports the inferred
 * types (type-only), and test/integration/api-answers.test.ts checks each route's real answers
 * against its schema.
 */

const at = z.string() // an ISO 8601 timestamp
const role = z.enum(roles)
const location = z
  .object({
    city: z.string().nullable(),
    region: z.string().nullable(),
    country: z.string(),
    country_name: z.string(),
  })
  .strict()

/** Every error: `{ error: { code, message, reason?, request_id, … } }`. */
export const errorAnswer = z.object({
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      reason: z.string().optional(),
      request_id: z.string(),
    })
    .catchall(z.unknown()),
})

// --- /api/auth -----------------------------------------------------------------------------

export const gateAnswer = z
  .object({
    identity_id: z.string(),
    role: z.string(),
    aal: z.string(),
    mfa: z
      .object({
        required: z.boolean(),
        required_by: z.enum(["org", "role"]).nullable(),
        enrolled: z.boolean(),
        deadline: at.nullable(),
      })
      .strict(),
    password_rotation_due: at.nullable(),
    warnings: z.array(z.string()),
  })
  .strict()

export const ackAnswer = z.discriminatedUnion("status", [
  z.object({ status: z.literal("not_required") }).strict(),
  z.object({ status: z.literal("cleared"), set_at: at, changed_at: at.nullable() }).strict(),
])

// --- /api/me -------------------------------------------------------------------------------

export const securityOverviewAnswer = z
  .object({
    identity_id: z.string(),
    role: z.string(),
    password: z
      .object({
        set: z.boolean(),
        last_changed_at: at.nullable(),
        last_changed_source: z.enum(["audit", "credential"]).nullable(),
        rotation_days: z.number().nullable(),
        rotation_due_at: at.nullable(),
        rotation_due: z.boolean(),
      })
      .strict(),
    two_factor: z
      .object({
        enabled: z.boolean(),
        recovery_codes_only: z.boolean(),
        methods: z.array(
          z
            .object({
              type: z.enum(["totp", "webauthn"]),
              id: z.string().optional(),
              name: z.string().optional(),
              enrolled_at: at.nullable(),
            })
            .strict(),
        ),
        recovery_codes_left: z.number(),
        recovery_codes_total: z.number(),
        required: z.boolean(),
        required_by: z.enum(["org", "role"]).nullable(),
        enrolment_deadline: at.nullable(),
        enrolment_overdue: z.boolean(),
      })
      .strict(),
    sso_required: z.boolean(),
    force_password_change: z.object({ required: z.boolean(), set_at: at.nullable() }).strict(),
  })
  .strict()

export const activityPageAnswer = z
  .object({
    items: z.array(
      z
        .object({
          id: z.string(),
          event: z.string(),
          occurred_at: at,
          ip: z.string().nullable(),
          device: z.string().nullable(),
          location: location.nullable(),
          actor: z.enum(["self", "admin", "system"]),
          details: z.record(z.string(), z.unknown()),
        })
        .strict(),
    ),
    next_cursor: z.string().nullable(),
  })
  .strict()

const sessionView = z
  .object({
    id: z.string(),
    current: z.boolean(),
    device: z.object({ name: z.string(), user_agent: z.string().nullable() }).strict(),
    ip: z.string().nullable(),
    location: location.nullable(),
    authenticated_at: at.nullable(),
    last_active_at: at.nullable(),
    expires_at: at.nullable(),
    aal: z.string().nullable(),
    methods: z.array(
      z
        .object({ method: z.string(), aal: z.string().nullable(), completed_at: at.nullable() })
        .strict(),
    ),
  })
  .strict()

export const mySessionsAnswer = z.object({ sessions: z.array(sessionView) }).strict()
export const revokedSessionAnswer = z.object({ revoked: sessionView }).strict()
export const revokedSessionsAnswer = z.object({ revoked: z.array(sessionView) }).strict()

// --- API keys (/api/me/api-keys, /api/admin/users/:id/api-keys) ---------------------------

/** A key's metadata: never the secret or its hash. */
const apiKeyView = z
  .object({
    id: z.string(),
    key_id: z.string(),
    label: z.string(),
    scope: role,
    created_at: at,
    created_by: z.string(),
    expires_at: at.nullable(),
    last_used_at: at.nullable(),
    last_used_ip: z.string().nullable(),
    revoked_at: at.nullable(),
    revoked_reason: z.string().nullable(),
    status: z.enum(["active", "expired", "revoked"]),
  })
  .strict()

export const apiKeyListAnswer = z
  .object({ api_keys: z.array(apiKeyView), max_active: z.number().int(), role })
  .strict()
/** The one answer that holds the whole key: shown once, never stored. */
export const apiKeyCreatedAnswer = z
  .object({ api_key: apiKeyView, key: z.string().startsWith("kg_") })
  .strict()
export const apiKeyRevokedAnswer = z.object({ revoked: apiKeyView }).strict()

// --- lost-device recovery requests ----------------------------------------------------------

const recoveryStatus = z.enum(["verifying", "open", "approved", "denied", "expired"])
const ownRecoveryRequest = z
  .object({
    id: z.string(),
    status: recoveryStatus,
    reason: z.string().nullable(),
    created_at: at,
    submitted_at: at.nullable(),
    expires_at: at.nullable(),
    decided_at: at.nullable(),
    decision_note: z.string().nullable(),
    approvals: z.number().int(),
    approvals_needed: z.number().int(),
    code_expires_at: at.nullable(),
  })
  .strict()
export const ownRecoveryAnswer = z.object({ request: ownRecoveryRequest.nullable() }).strict()
export const recoveryCodeSentAnswer = z
  .object({ sent_to: z.string(), code_expires_at: at })
  .strict()
const recoveryQueueItem = z
  .object({
    id: z.string(),
    status: recoveryStatus,
    reason: z.string().nullable(),
    submitted_at: at.nullable(),
    expires_at: at.nullable(),
    decided_at: at.nullable(),
    decided_by: z.string().nullable(),
    decision_note: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    device: z.string(),
    approvals: z.array(
      z.object({ admin_id: z.string(), email: z.string().nullable(), at }).strict(),
    ),
    approvals_needed: z.number().int(),
    previous_requests: z.number().int(),
    person: z
      .object({
        id: z.string(),
        email: z.string().nullable(),
        role,
        state: z.string().nullable(),
        posture: z.record(z.string(), z.unknown()),
      })
      .strict()
      .nullable(),
    recent_sign_ins: z.array(
      z.object({ at, ip: z.string().nullable(), device: z.string() }).strict(),
    ),
    sessions: z.array(
      z
        .object({
          id: z.string(),
          aal: z.string().nullable(),
          authenticated_at: at.nullable(),
          device: z.string(),
          ip: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict()
export const recoveryQueueAnswer = z
  .object({ items: z.array(recoveryQueueItem), four_eyes: z.boolean() })
  .strict()
export const recoveryApprovedAnswer = z
  .object({ request: recoveryQueueItem, completed: z.boolean(), removed: z.array(z.string()) })
  .strict()
export const recoveryDeniedAnswer = z.object({ request: recoveryQueueItem }).strict()
export type OwnRecoveryAnswer = z.infer<typeof ownRecoveryAnswer>
export type RecoveryCodeSentAnswer = z.infer<typeof recoveryCodeSentAnswer>
export type RecoveryQueueAnswer = z.infer<typeof recoveryQueueAnswer>
export type RecoveryQueueItem = z.infer<typeof recoveryQueueItem>

// --- /api/admin ----------------------------------------------------------------------------

export const userListAnswer = z
  .object({
    users: z.array(
      z
        .object({
          id: z.string(),
          email: z.string().nullable(),
          name: z.string().nullable(),
          role,
          state: z.string().nullable(),
          created_at: at.nullable(),
          second_factors: z.array(z.string()),
          force_password_change: z.boolean(),
        })
        .strict(),
    ),
    total: z.number(),
    next_offset: z.number().nullable(),
  })
  .strict()

export const userDetailAnswer = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    state: z.string().nullable(),
    role,
    created_at: at.nullable(),
    manager: z.object({ id: z.string(), email: z.string().nullable() }).strict().nullable(),
    /** Who is mailed when an admin resets their 2FA or deactivates them. */
    notified: z.object({ manager: z.boolean(), security_team: z.boolean() }).strict(),
    force_password_change: z
      .object({
        required: z.boolean(),
        set_at: at,
        set_by: z.string(),
        cleared_at: at.nullable().optional(),
      })
      .nullable(),
    posture: z
      .object({
        role,
        methods: z.array(z.string()),
        second_factor: z.boolean(),
        webauthn_keys: z.number(),
        recovery_codes_left: z.number(),
        force_password_change: z.boolean(),
      })
      .strict(),
    totp_enrolled_at: at.nullable(),
    security_keys: z.array(
      z.object({ name: z.string(), added_at: at.nullable(), passwordless: z.boolean() }).strict(),
    ),
    passkeys: z.number(),
    sessions: z.array(
      z
        .object({
          id: z.string(),
          aal: z.string().optional(),
          authenticated_at: at.optional(),
          expires_at: at.optional(),
          devices: z.array(
            z
              .object({
                ip: z.string().nullable().optional(),
                user_agent: z.string().nullable().optional(),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict()

export const provisionedAnswer = z
  .object({
    id: z.string(),
    email: z.string(),
    role,
    recovery_code: z.string(),
    recovery_link: z.string(),
    expires_at: at.nullable(),
  })
  .strict()

export const roleChangeAnswer = z
  .object({ previous: role, role, changed: z.boolean() })
  .catchall(z.unknown())
export const managerChangeAnswer = z.object({ manager_id: z.string().nullable() }).strict()
export const forcedChangeAnswer = z
  .object({ required: z.literal(true), set_at: at, already_required: z.boolean() })
  .strict()
export const twoFactorResetAnswer = z
  .object({ removed: z.array(z.string()), sessions_revoked: z.literal(true) })
  .strict()
export const sessionsRevokedAnswer = z.object({ revoked: z.boolean() }).strict()
export const stateAnswer = z.object({ state: z.string() }).strict()

const auditEntry = z
  .object({
    id: z.number(),
    event_id: z.string(),
    occurred_at: at,
    event: z.string(),
    actor_type: z.enum(["user", "admin", "system"]),
    actor_id: z.string().nullable(),
    subject_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    flow_id: z.string().nullable(),
    request_id: z.string().nullable(),
    posture: z.record(z.string(), z.unknown()).nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .strict()
export const auditPageAnswer = z
  .object({
    items: z.array(auditEntry),
    next_cursor: z.string().nullable(),
    /** The email and name of the ids on the page that are people in Kratos. */
    people: z.record(
      z.string(),
      z.object({ email: z.string().nullable(), name: z.string().nullable() }).strict(),
    ),
  })
  .strict()

const failedNotification = z
  .object({
    id: z.string(),
    audit_event_id: z.string(),
    kind: z.string(),
    recipient: z.string(),
    subject: z.string(),
    status: z.enum(["dead", "pending", "sending"]),
    attempts: z.number(),
    last_error: z.string().nullable(),
    next_attempt_at: at,
    created_at: at,
    message_id: z.string(),
  })
  .strict()
export const notificationPageAnswer = z
  .object({ items: z.array(failedNotification), next_cursor: z.string().nullable() })
  .strict()
export const notificationRetryAnswer = z.object({ status: z.literal("queued") }).strict()

export const policyAnswer = z
  .object({
    roles_requiring_2fa: z.array(role),
    require_2fa_for_everyone: z.boolean(),
    mfa_grace_period_hours: z.number(),
    password_rotation_days: z.number().nullable(),
    sso_required: z.boolean(),
    mandatory_notifications: z.array(z.string()),
    updated_at: at.nullable(),
    updated_by: z.string().nullable(),
  })
  .strict()

/** What an admin may change of the policy (every field optional: a partial update). */
export const policyChange = z
  .object({
    roles_requiring_2fa: z.array(role).max(3),
    require_2fa_for_everyone: z.boolean(),
    mfa_grace_period_hours: z
      .number()
      .int()
      .min(0)
      .max(24 * 90),
    password_rotation_days: z.number().int().min(1).max(3650).nullable(),
    sso_required: z.boolean(),
    mandatory_notifications: z
      .array(z.enum(personNotificationKinds))
      .max(personNotificationKinds.length)
      .transform((list) => [...new Set(list)]),
  })
  .partial()
  .strict()

export type GateAnswer = z.infer<typeof gateAnswer>
export type AckAnswer = z.infer<typeof ackAnswer>
export type SecurityOverviewAnswer = z.infer<typeof securityOverviewAnswer>
export type ActivityPageAnswer = z.infer<typeof activityPageAnswer>
export type ActivityItemAnswer = ActivityPageAnswer["items"][number]
export type SessionViewAnswer = z.infer<typeof sessionView>
export type UserListAnswer = z.infer<typeof userListAnswer>
export type UserListItemAnswer = UserListAnswer["users"][number]
export type UserDetailAnswer = z.infer<typeof userDetailAnswer>
export type UserSessionAnswer = UserDetailAnswer["sessions"][number]
export type ProvisionedAnswer = z.infer<typeof provisionedAnswer>
export type AuditPageAnswer = z.infer<typeof auditPageAnswer>
export type AuditEntryAnswer = z.infer<typeof auditEntry>
export type NotificationPageAnswer = z.infer<typeof notificationPageAnswer>
export type FailedNotificationAnswer = z.infer<typeof failedNotification>
export type PolicyAnswer = z.infer<typeof policyAnswer>
export type PolicyChange = z.infer<typeof policyChange>
export type ErrorAnswer = z.infer<typeof errorAnswer>
export type ApiKeyAnswer = z.infer<typeof apiKeyView>
export type ApiKeyListAnswer = z.infer<typeof apiKeyListAnswer>
export type ApiKeyCreatedAnswer = z.infer<typeof apiKeyCreatedAnswer>

// --- from the domain's shapes to the answers -----------------------------------------------

export const policyAnswerOf = (p: OrgPolicy): PolicyAnswer => ({
  roles_requiring_2fa: p.rolesRequiring2fa,
  require_2fa_for_everyone: p.require2faForEveryone,
  mfa_grace_period_hours: p.mfaGracePeriodHours,
  password_rotation_days: p.passwordRotationDays,
  sso_required: p.ssoRequired,
  mandatory_notifications: p.mandatoryNotifications,
  updated_at: p.updatedAt?.toISOString() ?? null,
  updated_by: p.updatedBy,
})

export const policyUpdateOf = (c: PolicyChange): OrgPolicyUpdate => ({
  ...(c.roles_requiring_2fa !== undefined ? { rolesRequiring2fa: c.roles_requiring_2fa } : {}),
  ...(c.require_2fa_for_everyone !== undefined
    ? { require2faForEveryone: c.require_2fa_for_everyone }
    : {}),
  ...(c.mfa_grace_period_hours !== undefined
    ? { mfaGracePeriodHours: c.mfa_grace_period_hours }
    : {}),
  ...(c.password_rotation_days !== undefined
    ? { passwordRotationDays: c.password_rotation_days }
    : {}),
  ...(c.sso_required !== undefined ? { ssoRequired: c.sso_required } : {}),
  ...(c.mandatory_notifications !== undefined
    ? { mandatoryNotifications: c.mandatory_notifications }
    : {}),
})

export const auditEntryOf = (r: AuditRow): AuditEntryAnswer => ({
  id: Number(r.id),
  event_id: r.eventId,
  occurred_at: r.occurredAt.toISOString(),
  event: r.event,
  actor_type: r.actorType as AuditEntryAnswer["actor_type"],
  actor_id: r.actorId,
  subject_id: r.subjectId,
  ip: r.ip,
  user_agent: r.userAgent,
  flow_id: r.flowId,
  request_id: r.requestId,
  posture: (r.posture as Record<string, unknown> | null) ?? null,
  details: (r.details as Record<string, unknown> | null) ?? null,
})

export const failedNotificationOf = (n: FailedNotification): FailedNotificationAnswer => ({
  id: n.id,
  audit_event_id: n.auditEventId,
  kind: n.kind,
  recipient: n.recipient,
  subject: n.subject,
  status: n.status,
  attempts: n.attempts,
  last_error: n.lastError,
  next_attempt_at: n.nextAttemptAt,
  created_at: n.createdAt,
  message_id: n.messageId,
})

// --- outbound security events (event subscribers and their deliveries) --------------------

const eventSubscriber = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    event_types: z.array(z.string()),
    enabled: z.boolean(),
    created_at: at,
    updated_at: at,
    /** While a rotation's previous secret still signs beside the new one. */
    previous_secret_expires_at: at.nullable(),
    counts: z
      .object({
        pending: z.number(),
        dead: z.number(),
        delivered: z.number(),
        last_delivered_at: at.nullable(),
      })
      .strict()
      .optional(),
  })
  .strict()
export const eventSubscriberListAnswer = z
  .object({ subscribers: z.array(eventSubscriber), event_types: z.array(z.string()) })
  .strict()
export const eventSubscriberAnswer = z.object({ subscriber: eventSubscriber }).strict()
/** Creating or rotating: the signing secret, shown this once. */
export const eventSubscriberSecretAnswer = z
  .object({ subscriber: eventSubscriber, secret: z.string().startsWith("whsec_") })
  .strict()
export const eventSubscriberDeletedAnswer = z.object({ deleted: z.literal(true) }).strict()
export const eventReplayAnswer = z.object({ queued: z.number() }).strict()
const eventDelivery = z
  .object({
    id: z.string(),
    subscriber_id: z.string(),
    audit_id: z.number(),
    /** The CloudEvent id and webhook-id: the audit entry's event_id. */
    event_id: z.string(),
    event: z.string(),
    status: z.enum(["pending", "delivered", "dead"]),
    attempts: z.number(),
    next_attempt_at: at,
    last_error: z.string().nullable(),
    last_status: z.number().nullable(),
    replays: z.number(),
    created_at: at,
    delivered_at: at.nullable(),
  })
  .strict()
export const eventDeliveryPageAnswer = z
  .object({ items: z.array(eventDelivery), next_cursor: z.string().nullable() })
  .strict()
export const eventDeliveryAnswer = z.object({ delivery: eventDelivery }).strict()

export type EventSubscriberAnswer = z.infer<typeof eventSubscriber>
export type EventSubscriberListAnswer = z.infer<typeof eventSubscriberListAnswer>
export type EventSubscriberSecretAnswer = z.infer<typeof eventSubscriberSecretAnswer>
export type EventDeliveryAnswer = z.infer<typeof eventDelivery>
export type EventDeliveryPageAnswer = z.infer<typeof eventDeliveryPageAnswer>

export const eventSubscriberOf = (s: SubscriberView): EventSubscriberAnswer => ({
  id: s.id,
  name: s.name,
  url: s.url,
  event_types: s.eventTypes,
  enabled: s.enabled,
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
  previous_secret_expires_at: s.previousSecretExpiresAt?.toISOString() ?? null,
  ...(s.counts
    ? {
        counts: {
          pending: s.counts.pending,
          dead: s.counts.dead,
          delivered: s.counts.delivered,
          last_delivered_at: s.counts.lastDeliveredAt?.toISOString() ?? null,
        },
      }
    : {}),
})

export const eventDeliveryOf = (d: DeliveryRow): EventDeliveryAnswer => ({
  id: d.id,
  subscriber_id: d.subscriberId,
  audit_id: Number(d.auditId),
  event_id: d.auditEventId,
  event: d.event,
  status: d.status as EventDeliveryAnswer["status"],
  attempts: d.attempts,
  next_attempt_at: d.nextAttemptAt.toISOString(),
  last_error: d.lastError,
  last_status: d.lastStatus,
  replays: d.replays,
  created_at: d.createdAt.toISOString(),
  delivered_at: d.deliveredAt?.toISOString() ?? null,
})

// --- a person's notification settings (/api/me/notifications) -----------------------------

export const notificationSettingsAnswer = z
  .object({
    items: z.array(
      z
        .object({
          kind: z.enum(personNotificationKinds),
          enabled: z.boolean(),
          /** Required by the organisation's policy: always on, not the person's to switch. */
          mandatory: z.boolean(),
        })
        .strict(),
    ),
  })
  .strict()
/** Kinds to switch, each on (true) or off (false); at least one. */
export const notificationSettingsChange = z
  .partialRecord(z.enum(personNotificationKinds), z.boolean())
  .refine((r) => Object.keys(r).length > 0, "names nothing to change")
export type NotificationSettingsAnswer = z.infer<typeof notificationSettingsAnswer>

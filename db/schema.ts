import { sql } from "drizzle-orm"
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core"

/**
 * Every Kratos webhook call the service received, for an operator following a flow: which hook,
 * flow and identity, when, under which request id, and the flow's shape in `payload` (see
 * webhooks/domain/hook-deliveries.ts; never traits, addresses, user agents or metadata). Rows
 * older than HOOK_DELIVERY_RETENTION_DAYS are deleted.
 */
export const hookDeliveries = pgTable(
  "hook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    hook: text("hook").notNull(),
    flowId: uuid("flow_id"),
    identityId: uuid("identity_id"),
    payload: jsonb("payload").notNull(),
    requestId: text("request_id"),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("hook_deliveries_identity_idx").on(t.identityId, t.receivedAt),
    index("hook_deliveries_flow_idx").on(t.flowId),
    index("hook_deliveries_received_idx").on(t.receivedAt),
  ],
)

/**
 * Append-only trail of committed security changes (one row per change). An entry is inserted
 * unsealed (`seq`, `prev_hash` and `hash` null); the sealer (webhooks/domain/audit.ts) gives it
 * its place in the hash chain once, shortly after, and nothing changes it after that.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: uuid("event_id").notNull().defaultRandom(),
    /** Natural key of the change (e.g. flow id + event) so a retried delivery adds nothing. */
    dedupKey: text("dedup_key"),
    event: text("event").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    subjectId: uuid("subject_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    flowId: uuid("flow_id"),
    requestId: text("request_id"),
    /** Security posture after the change: 2FA methods, AAL, flags. */
    posture: jsonb("posture")
      .notNull()
      .default(sql`'{}'::jsonb`),
    details: jsonb("details")
      .notNull()
      .default(sql`'{}'::jsonb`),
    prevHash: text("prev_hash"),
    hash: text("hash"),
    /** The entry's place in the hash chain, set by the sealer; null while unsealed. */
    seq: bigint("seq", { mode: "number" }),
  },
  (t) => [
    uniqueIndex("audit_events_event_id_key").on(t.eventId),
    uniqueIndex("audit_events_dedup_key").on(t.dedupKey),
    uniqueIndex("audit_events_seq_key").on(t.seq),
    // The sealer's queue: only the entries still unsealed (few, and short-lived).
    index("audit_events_unsealed_idx")
      .on(t.id)
      .where(sql`${t.seq} is null and ${t.hash} is null`),
    // Each filter of the activity feed and the admin log has an index that yields its rows
    // newest first, so a page is a short index range scan (see audit-queries.ts).
    index("audit_events_subject_idx").on(t.subjectId, t.id),
    index("audit_events_subject_event_idx").on(t.subjectId, t.event, t.id),
    index("audit_events_actor_idx").on(t.actorId, t.id),
    index("audit_events_actor_event_idx").on(t.actorId, t.event, t.id),
    index("audit_events_event_idx").on(t.event, t.id),
    index("audit_events_occurred_idx").on(t.occurredAt, t.id),
    check("audit_events_actor_type_check", sql`${t.actorType} in ('user', 'admin', 'system')`),
  ],
)

/** Transactional outbox: written in the same transaction as the audit entry it belongs to. */
export const notificationOutbox = pgTable(
  "notification_outbox",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    auditEventId: uuid("audit_event_id").notNull(),
    kind: text("kind").notNull(),
    recipient: text("recipient").notNull(),
    subject: text("subject").notNull(),
    bodyText: text("body_text").notNull(),
    bodyHtml: text("body_html"),
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    lastError: text("last_error"),
    messageId: text("message_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("notification_outbox_event_recipient_key").on(t.auditEventId, t.kind, t.recipient),
    index("notification_outbox_due_idx").on(t.status, t.nextAttemptAt),
    check(
      "notification_outbox_status_check",
      sql`${t.status} in ('pending', 'sending', 'sent', 'dead')`,
    ),
  ],
)

/** Organisation-wide security policy; a single row with id 'default'. */
export const orgPolicy = pgTable("org_policy", {
  id: text("id").primaryKey().default("default"),
  rolesRequiring2fa: text("roles_requiring_2fa")
    .array()
    .notNull()
    .default(sql`array['admin', 'super_admin']::text[]`),
  require2faForEveryone: boolean("require_2fa_for_everyone").notNull().default(false),
  mfaGracePeriodHours: integer("mfa_grace_period_hours").notNull().default(72),
  passwordRotationDays: integer("password_rotation_days"),
  ssoRequired: boolean("sso_required").notNull().default(false),
  /**
   * When each 2FA requirement was switched on (`everyone`, or a role's name), so an enrolment
   * deadline counts from when a person became covered, not from the policy's last save.
   * Absent: on since before these were recorded (the role's assignment or the account's
   * creation is the start).
   */
  coverageSince: jsonb("coverage_since")
    .$type<Record<string, string>>()
    .notNull()
    .default(sql`'{}'::jsonb`),
  /** Security mails a person can't switch off (notification kinds). */
  mandatoryNotifications: text("mandatory_notifications")
    .array()
    .notNull()
    .default(sql`array['user.password_changed', 'user.2fa_disabled']::text[]`),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  updatedBy: text("updated_by"),
})

/**
 * Counters for brute-force and rate limits, shared by every replica. The shape is the one
 * rate-limiter-flexible's Postgres store uses (it is told the table exists).
 */
export const rateLimits = pgTable("rate_limits", {
  key: varchar("key", { length: 255 }).primaryKey(),
  points: integer("points").notNull().default(0),
  expire: bigint("expire", { mode: "number" }),
})

/**
 * A security change Kratos is about to persist (seen by a pre-persist hook), until Kratos
 * confirms it (post-persist hook) or the reconciler settles it against the admin API. The
 * audit trail is written only for confirmed changes, so it never claims one Kratos refused.
 */
export const pendingChanges = pgTable(
  "pending_changes",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** flow id, method and the identity's updated_at before the change: one row per change. */
    changeKey: text("change_key").notNull(),
    flowId: uuid("flow_id").notNull(),
    method: text("method").notNull(),
    identityId: uuid("identity_id").notNull(),
    intent: text("intent").notNull(),
    /** Credential summary read from the admin API before the change (no secrets). */
    before: jsonb("before").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    status: text("status").notNull().default("pending"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("pending_changes_change_key").on(t.changeKey),
    index("pending_changes_flow_idx").on(t.flowId, t.method),
    index("pending_changes_status_idx").on(t.status, t.createdAt),
    index("pending_changes_identity_idx").on(t.identityId, t.method, t.createdAt),
    check(
      "pending_changes_status_check",
      sql`${t.status} in ('pending', 'confirmed', 'abandoned')`,
    ),
  ],
)

/**
 * What a settings submission asked for, noted by the Kratos proxy where it sees the request
 * body (a webhook never does): e.g. which WebAuthn key a `webauthn_remove` removes.
 */
export const settingsIntents = pgTable(
  "settings_intents",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    flowId: uuid("flow_id").notNull(),
    kind: text("kind").notNull(),
    detail: text("detail"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("settings_intents_flow_idx").on(t.flowId, t.createdAt)],
)

/**
 * Password history: the hashes Kratos stored for an identity's recent passwords (never a
 * password), newest last, at most `PASSWORD_HISTORY` per identity. The proxy compares a new
 * password with them (domain/password-history.ts). They are as sensitive as Kratos's own
 * credentials table.
 */
export const passwordHistory = pgTable(
  "password_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    identityId: uuid("identity_id").notNull(),
    hash: text("hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("password_history_identity_hash_key").on(t.identityId, t.hash),
    index("password_history_identity_idx").on(t.identityId, t.id),
  ],
)

/**
 * The authorization state of each person, decided by the service: role, manager, a forced
 * password change and deactivation. Kratos's `metadata_public` / `metadata_admin` / `state`
 * hold a copy that webhooks/domain/kratos-sync.ts keeps in step with this row. Seeded from
 * Kratos for identities that predate the table.
 */
export const identityAuthz = pgTable(
  "identity_authz",
  {
    identityId: uuid("identity_id").primaryKey(),
    role: text("role").notNull().default("member"),
    roleAssignedAt: timestamp("role_assigned_at", { withTimezone: true }),
    managerId: uuid("manager_id"),
    forceRequired: boolean("force_required").notNull().default(false),
    forceSetAt: timestamp("force_set_at", { withTimezone: true }),
    forceSetBy: text("force_set_by"),
    forceClearedAt: timestamp("force_cleared_at", { withTimezone: true }),
    /** Fingerprint of the password hash when the change was required (see passwordFingerprint). */
    forceFingerprint: text("force_fingerprint"),
    state: text("state").notNull().default("active"),
    stateChangedAt: timestamp("state_changed_at", { withTimezone: true }),
    /** Bumped by every change; `synced_version` is the newest one Kratos was seen to hold. */
    version: integer("version").notNull().default(1),
    syncedVersion: integer("synced_version"),
    syncedAt: timestamp("synced_at", { withTimezone: true }),
    /** Where the row came from: `kratos` (seeded), `registration` or `provisioning`. */
    origin: text("origin").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    updatedBy: text("updated_by"),
    /**
     * A settings submit Kratos is persisting: from the pre-persist answer until its post-persist
     * call (or `write_until`). The service writes nothing to this identity in Kratos meanwhile.
     */
    writeFlowId: uuid("write_flow_id"),
    writeUntil: timestamp("write_until", { withTimezone: true }),
  },
  (t) => [
    check("identity_authz_role_check", sql`${t.role} in ('member', 'admin', 'super_admin')`),
    check("identity_authz_state_check", sql`${t.state} in ('active', 'inactive')`),
  ],
)

/**
 * API keys for devices and scripts that can't sign in interactively (the gate accepts them as
 * `Authorization: Bearer kg_<key_id>_<secret>`). Only the SHA-256 of the secret is kept: the
 * secret is 256 random bits, so its hash can't be reversed by guessing, fast hash or not.
 * `scope` is the most the key may stand for (never above the owner's role when created; the
 * gate reports the lower of it and the owner's role at the time).
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The public part of the key, looked up by the gate (16 hex digits). */
    keyId: text("key_id").notNull(),
    identityId: uuid("identity_id").notNull(),
    label: text("label").notNull(),
    scope: text("scope").notNull(),
    /** sha256 of the secret part, hex. */
    secretHash: text("secret_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Who created it: the owner, or an admin for them. */
    createdBy: uuid("created_by").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    lastUsedIp: text("last_used_ip"),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** `owner`, `admin`, `password_changed`, `2fa_reset` or `deactivated`. */
    revokedReason: text("revoked_reason"),
    revokedBy: uuid("revoked_by"),
  },
  (t) => [
    uniqueIndex("api_keys_key_id_key").on(t.keyId),
    index("api_keys_identity_idx").on(t.identityId, t.createdAt),
    check("api_keys_scope_check", sql`${t.scope} in ('member', 'admin', 'super_admin')`),
  ],
)

/**
 * Lost-device recovery requests: a person who lost their second factor asks, signed in with
 * their password (AAL1) and proving their verified email address with a code we mail, and an
 * admin approves (the 2FA reset) or denies. `verifying` until the code is entered, then `open`
 * until decided or expired. One `verifying` or `open` request per person (a partial unique
 * index). The code is kept only as its SHA-256 (with the request id), tried at most 5 times.
 */
export const recoveryRequests = pgTable(
  "recovery_requests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    identityId: uuid("identity_id").notNull(),
    status: text("status").notNull().default("verifying"),
    reason: text("reason"),
    codeHash: text("code_hash"),
    codeExpiresAt: timestamp("code_expires_at", { withTimezone: true }),
    codeAttempts: integer("code_attempts").notNull().default(0),
    codesSent: integer("codes_sent").notNull().default(0),
    /** The AAL1 session that asked: kept when the request is approved, the others end. */
    sessionId: uuid("session_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    submittedAt: timestamp("submitted_at", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    /** `[{ admin_id, at }]`: the approvals so far (two for an admin's request under four eyes). */
    approvals: jsonb("approvals")
      .notNull()
      .default(sql`'[]'::jsonb`),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    decidedBy: uuid("decided_by"),
    decisionNote: text("decision_note"),
  },
  (t) => [
    uniqueIndex("recovery_requests_one_open_key")
      .on(t.identityId)
      .where(sql`${t.status} in ('verifying', 'open')`),
    index("recovery_requests_identity_idx").on(t.identityId, t.createdAt),
    index("recovery_requests_status_idx").on(t.status, t.submittedAt),
    check(
      "recovery_requests_status_check",
      sql`${t.status} in ('verifying', 'open', 'approved', 'denied', 'expired')`,
    ),
  ],
)

/**
 * Receivers of the outbound security events (webhooks/domain/security-events/): a URL, the
 * audit event names it takes (`auth.*` style wildcards allowed), on/off, and the Standard
 * Webhooks signing secret (`whsec_…`). During a rotation the previous secret signs too, until
 * `previous_secret_expires_at`. `lane_locked_until` is the delivery lease: one replica at a
 * time sends a subscriber's events, in chain order.
 */
export const eventSubscribers = pgTable(
  "event_subscribers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    url: text("url").notNull(),
    eventTypes: text("event_types").array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    createdBy: uuid("created_by").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    laneLockedUntil: timestamp("lane_locked_until", { withTimezone: true }),
  },
  (t) => [index("event_subscribers_enabled_idx").on(t.enabled)],
)

/**
 * One audit entry to send to one subscriber: written by a trigger on `audit_events` in the
 * entry's own transaction (so it exists exactly when the entry does), sent once the entry is
 * sealed, in chain order per subscriber. The CloudEvent id and `webhook-id` are the entry's
 * `event_id`, the same on every attempt and every replay.
 */
export const eventDeliveries = pgTable(
  "event_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    subscriberId: uuid("subscriber_id")
      .notNull()
      .references(() => eventSubscribers.id, { onDelete: "cascade" }),
    auditId: bigint("audit_id", { mode: "number" }).notNull(),
    auditEventId: uuid("audit_event_id").notNull(),
    event: text("event").notNull(),
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
    lastStatus: integer("last_status"),
    replays: integer("replays").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("event_deliveries_subscriber_entry_key").on(t.subscriberId, t.auditId),
    index("event_deliveries_open_idx")
      .on(t.subscriberId, t.auditId)
      .where(sql`${t.status} = 'pending'`),
    index("event_deliveries_subscriber_created_idx").on(t.subscriberId, t.createdAt),
    check("event_deliveries_status_check", sql`${t.status} in ('pending', 'delivered', 'dead')`),
  ],
)

/**
 * A person's choice per security mail they receive (`kind` of notification_outbox): absent
 * means on. Mails the organisation makes mandatory (org_policy.mandatory_notifications) are
 * sent whatever this says.
 */
export const notificationPreferences = pgTable(
  "notification_preferences",
  {
    identityId: uuid("identity_id").notNull(),
    kind: text("kind").notNull(),
    enabled: boolean("enabled").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("notification_preferences_key").on(t.identityId, t.kind)],
)

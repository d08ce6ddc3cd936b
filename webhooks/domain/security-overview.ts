import type { Database, Db } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { kratosAsksSecondStep, secondFactors, type CredentialSummary } from "../kratos/identity"
import { listAudit, type AuditPage, type AuditRow } from "./audit-queries"
import { authorizedSummary } from "./authorization"
import { deviceName, locate, type Location } from "./device"
import { enrolmentDeadline } from "./gate"
import { requires2fa } from "../policy/roles"
import { getOrgPolicy } from "./org-policy"

const DAY = 86_400_000

export interface SecurityOverview {
  identity_id: string
  role: string
  password: {
    set: boolean
    last_changed_at: string | null
    /** `audit`: the newest `auth.password_changed` entry; `credential`: when it was created. */
    last_changed_source: "audit" | "credential" | null
    rotation_days: number | null
    rotation_due_at: string | null
    rotation_due: boolean
  }
  two_factor: {
    /** Kratos asks for a second step at sign-in (recovery codes alone count). */
    enabled: boolean
    /** The second step is recovery codes only: no app or key, which policy does not accept. */
    recovery_codes_only: boolean
    methods: { type: "totp" | "webauthn"; id?: string; name?: string; enrolled_at: string | null }[]
    recovery_codes_left: number
    recovery_codes_total: number
    required: boolean
    required_by: "org" | "role" | null
    /** Set when 2FA is required and not enrolled: after it, the gate refuses every app. */
    enrolment_deadline: string | null
    enrolment_overdue: boolean
  }
  sso_required: boolean
  force_password_change: { required: boolean; set_at: string | null }
}

/** Everything the Security page shows about the caller's own account, without secrets. */
/**
 * When the password last changed. Kratos rewrites the credential's updated_at on every identity
 * update, so the audit trail is the truth about a password change; an untouched password dates
 * from its creation.
 */
export async function passwordLastChanged(
  db: Db,
  summary: CredentialSummary,
): Promise<{ at: string | null; source: "audit" | "credential" | null }> {
  const changes = await listAudit(
    db,
    { subjectId: summary.identityId, event: "auth.password_changed" },
    { limit: 1 },
  )
  const audited = changes.items[0]?.occurredAt.toISOString() ?? null
  if (audited) return { at: audited, source: "audit" }
  const created = hasPassword(summary) ? (summary.passwordCreatedAt ?? null) : null
  return { at: created, source: created ? "credential" : null }
}

/**
 * Whether the person has a password to sign in with. Kratos gives an account an administrator
 * created a password credential that holds only the email (no hash) until a password is chosen,
 * dated from the account's creation: that is not a password, nor a change of one.
 */
function hasPassword(summary: CredentialSummary): boolean {
  return summary.password?.fingerprint != null
}

export async function securityOverview(
  d: { database: Database; kratos: KratosAdmin },
  identityId: string,
  now = new Date(),
): Promise<SecurityOverview> {
  const [found, policy] = await Promise.all([
    authorizedSummary(d, identityId),
    getOrgPolicy(d.database.db),
  ])
  if (!found) throw new AppError("NOT_FOUND", "your account no longer exists")
  const { summary } = found
  const changed = await passwordLastChanged(d.database.db, summary)
  const lastChanged = changed.at
  const rotationDueAt =
    policy.passwordRotationDays && lastChanged
      ? new Date(Date.parse(lastChanged) + policy.passwordRotationDays * DAY)
      : null

  // The gate counts an app or key as enrolment; the page shows what sign-in will ask for.
  const enrolled = secondFactors(summary).length > 0
  const enabled = kratosAsksSecondStep(summary)
  const need = requires2fa(policy, summary.role)
  const deadline = need.required && !enrolled ? enrolmentDeadline(summary, policy) : null
  const force = summary.metadataPublic.force_password_change

  return {
    identity_id: summary.identityId,
    role: summary.role,
    password: {
      set: hasPassword(summary),
      last_changed_at: lastChanged,
      last_changed_source: changed.source,
      rotation_days: policy.passwordRotationDays,
      rotation_due_at: rotationDueAt?.toISOString() ?? null,
      rotation_due: rotationDueAt !== null && rotationDueAt.getTime() <= now.getTime(),
    },
    two_factor: {
      enabled,
      recovery_codes_only: enabled && !enrolled,
      methods: [
        ...(summary.totp ? [{ type: "totp" as const, enrolled_at: summary.totp.createdAt }] : []),
        ...summary.webauthn
          .filter((k) => !k.passwordless)
          .map((k) => ({
            type: "webauthn" as const,
            id: k.id,
            name: k.displayName,
            enrolled_at: k.addedAt,
          })),
      ],
      recovery_codes_left: summary.lookupSecret?.unused ?? 0,
      recovery_codes_total: summary.lookupSecret?.total ?? 0,
      required: need.required,
      required_by: need.by,
      enrolment_deadline: deadline?.toISOString() ?? null,
      enrolment_overdue: deadline !== null && deadline.getTime() <= now.getTime(),
    },
    sso_required: policy.ssoRequired,
    force_password_change: {
      required: force?.required ?? false,
      set_at: force?.required ? force.set_at : null,
    },
  }
}

export interface ActivityItem {
  id: string
  event: string
  occurred_at: string
  ip: string | null
  device: string | null
  location: Location | null
  actor: "self" | "admin" | "system"
  details: Record<string, unknown>
}

/** Detail fields a user may see about their own account's changes (no ids of other people). */
const SAFE_DETAILS = new Set([
  "method",
  "aal",
  "refresh",
  "requested_aal",
  "recovery_codes_left",
  "codes",
  "fields",
  "name",
  "passwordless",
  "from",
  "to",
  "set_at",
  "password_changed_at",
  "session_id",
  "device",
  "session_ip",
  "via",
  "reason",
  "count",
  // API keys: which key, by its name and public id (never the secret).
  "label",
  "key_id",
  "key_ids",
  "scope",
  "expires_at",
])

function safeDetails(details: unknown): Record<string, unknown> {
  if (!details || typeof details !== "object" || Array.isArray(details)) return {}
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(details as Record<string, unknown>)) {
    if (!SAFE_DETAILS.has(k)) continue
    const scalar = v === null || ["string", "number", "boolean"].includes(typeof v)
    const strings = Array.isArray(v) && v.every((x) => typeof x === "string")
    if (scalar || strings) out[k] = v
  }
  return out
}

function actorKind(row: AuditRow): ActivityItem["actor"] {
  if (row.actorType === "admin") return "admin"
  if (row.actorType === "system") return "system"
  return "self"
}

/**
 * An administrator's look at someone's record (or an export of it) changes nothing about their
 * account: it stays in the admins' audit log and is left out of the person's own feed, which
 * lists what changed how they sign in (and whose device and address would be the admin's).
 */
export const ADMIN_LOOKS = ["admin.user_viewed", "admin.audit_exported", "admin.viewed"] as const

/**
 * The caller's own audit entries, newest first, one page at a time. The device, address and
 * place are shown for what the person did themselves; on an administrator's or the system's
 * action they would be the admin's machine, so they are left out.
 */
export async function myActivity(
  database: Database,
  identityId: string,
  page: AuditPage,
): Promise<{ items: ActivityItem[]; next_cursor: string | null }> {
  const { items, nextCursor } = await listAudit(
    database.db,
    { subjectId: identityId, excludeEvents: ADMIN_LOOKS },
    page,
  )
  return {
    items: await Promise.all(
      items.map(async (row) => {
        const actor = actorKind(row)
        const own = actor === "self"
        return {
          id: row.eventId,
          event: row.event,
          occurred_at: row.occurredAt.toISOString(),
          ip: own ? row.ip : null,
          device: own && row.userAgent ? deviceName(row.userAgent) : null,
          location: own ? await locate(row.ip) : null,
          actor,
          details: safeDetails(row.details),
        }
      }),
    ),
    next_cursor: nextCursor,
  }
}

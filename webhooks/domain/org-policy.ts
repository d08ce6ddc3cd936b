import type { Db } from "../../db/client"
import { readPolicyRow, upsertPolicyRow, type OrgPolicyRow } from "../data/org-policy"
import {
  defaultMandatoryNotifications,
  isPersonNotificationKind,
  type PersonNotificationKind,
} from "../policy/notification-choices"
import { roles, type Role } from "../policy/roles"

export interface OrgPolicy {
  rolesRequiring2fa: Role[]
  require2faForEveryone: boolean
  mfaGracePeriodHours: number
  passwordRotationDays: number | null
  ssoRequired: boolean
  /** Security mails a person can't switch off (see policy/notification-choices.ts). */
  mandatoryNotifications: PersonNotificationKind[]
  /** When each 2FA requirement was switched on: `everyone` or a role (see db/schema.ts). */
  coverageSince: Partial<Record<"everyone" | Role, Date>>
  /** Null until an admin first saves the policy (the defaults apply until then). */
  updatedAt: Date | null
  updatedBy: string | null
}

/** What an admin may change (a partial update; checked at the API's edge, routes/answers.ts). */
export type OrgPolicyUpdate = Partial<
  Pick<
    OrgPolicy,
    | "rolesRequiring2fa"
    | "require2faForEveryone"
    | "mfaGracePeriodHours"
    | "passwordRotationDays"
    | "ssoRequired"
    | "mandatoryNotifications"
  >
>

/**
 * The organisation's policy. Until an admin first saves one there is no row, and the defaults
 * (the schema's column defaults) apply; a read never writes.
 */
export async function getOrgPolicy(db: Db): Promise<OrgPolicy> {
  const row = await readPolicyRow(db)
  return row ? toPolicy(row) : DEFAULT_POLICY
}

/** The policy before anyone saved one: the org_policy table's column defaults. */
const DEFAULT_POLICY: OrgPolicy = Object.freeze({
  rolesRequiring2fa: ["admin", "super_admin"] as Role[],
  require2faForEveryone: false,
  mfaGracePeriodHours: 72,
  passwordRotationDays: null,
  ssoRequired: false,
  mandatoryNotifications: [...defaultMandatoryNotifications],
  coverageSince: {},
  updatedAt: null,
  updatedBy: null,
})

/**
 * How long a policy read serves the hot paths (the password guard in the proxy, the settings
 * pre-persist hook, the gate). A change made through this replica applies at once; one made
 * through another replica within this long. Admin reads and updates never use the cache.
 */
export const POLICY_CACHE_MS = 2000

const cached = new WeakMap<Db, { policy: Promise<OrgPolicy>; at: number }>()

/**
 * The policy as `getOrgPolicy` reads it, at most POLICY_CACHE_MS old; concurrent callers share
 * one read. A failed read is not kept: the caller gets the error (and fails closed) and the
 * next call reads again.
 */
export function getOrgPolicyCached(db: Db, now = Date.now()): Promise<OrgPolicy> {
  const hit = cached.get(db)
  if (hit && now - hit.at < POLICY_CACHE_MS && now >= hit.at) return hit.policy
  const policy = getOrgPolicy(db)
  const entry = { policy, at: now }
  cached.set(db, entry)
  policy.catch(() => {
    if (cached.get(db) === entry) cached.delete(db)
  })
  return policy
}

/** Applies a partial update and returns the policy before and after (for the audit entry). */
export async function updateOrgPolicy(
  db: Db,
  change: OrgPolicyUpdate,
  updatedBy: string,
): Promise<{ before: OrgPolicy; after: OrgPolicy }> {
  const before = await getOrgPolicy(db)
  const now = new Date()
  const values = {
    ...change,
    coverageSince: coverageAfter(before, change, now),
    updatedAt: now,
    updatedBy,
  }
  const after = toPolicy(await upsertPolicyRow(db, values))
  rememberOrgPolicy(db, after)
  return { before, after }
}

/** The policy this replica now serves its hot paths (after a change it made, once committed). */
export function rememberOrgPolicy(db: Db, policy: OrgPolicy): void {
  cached.set(db, { policy: Promise.resolve(policy), at: Date.now() })
}

/**
 * The requirements' start times after a change: a requirement switched on starts now, one
 * switched off is forgotten, and one left as it was keeps its start, whatever else was saved.
 */
export function coverageAfter(
  before: OrgPolicy,
  change: OrgPolicyUpdate,
  now: Date,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(before.coverageSince)) if (v) out[k] = v.toISOString()
  const everyone = change.require2faForEveryone ?? before.require2faForEveryone
  if (!everyone) delete out.everyone
  else if (!before.require2faForEveryone) out.everyone = now.toISOString()
  const roleList = change.rolesRequiring2fa ?? before.rolesRequiring2fa
  for (const role of roles) {
    if (!roleList.includes(role)) delete out[role]
    else if (!before.rolesRequiring2fa.includes(role)) out[role] = now.toISOString()
  }
  return out
}

function toPolicy(row: OrgPolicyRow): OrgPolicy {
  return {
    rolesRequiring2fa: row.rolesRequiring2fa.filter((r): r is Role =>
      (roles as readonly string[]).includes(r),
    ),
    require2faForEveryone: row.require2faForEveryone,
    mfaGracePeriodHours: row.mfaGracePeriodHours,
    passwordRotationDays: row.passwordRotationDays,
    ssoRequired: row.ssoRequired,
    mandatoryNotifications: row.mandatoryNotifications.filter(isPersonNotificationKind),
    coverageSince: parseCoverage(row.coverageSince),
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  }
}

function parseCoverage(raw: unknown): OrgPolicy["coverageSince"] {
  const out: OrgPolicy["coverageSince"] = {}
  if (!raw || typeof raw !== "object") return out
  for (const key of ["everyone", ...roles] as const) {
    const v = (raw as Record<string, unknown>)[key]
    const at = typeof v === "string" ? new Date(v) : null
    if (at && !Number.isNaN(at.getTime())) out[key] = at
  }
  return out
}

import { randomBytes } from "node:crypto"
import type { Identity } from "../kratos/types"
import type { Logger } from "pino"
import type { Database } from "../../db/client"
import { insertAuthorization, loadAuthorization, type Authorization } from "../data/authz"
import type { KratosAdmin } from "../kratos/admin"
import {
  guardAdminMetadata,
  readPublicMetadata,
  type CredentialSummary,
  type ForcePasswordChange,
} from "../kratos/identity"
import type { Role } from "../policy/roles"
import type { Refusal } from "./settings-rules"

/**
 * The service's database is the source of truth for a person's role, manager, forced password
 * change and deactivation (`identity_authz`). Kratos holds a copy in `metadata_public`,
 * `metadata_admin` and `state`, which its own writes can undo: a settings submit writes back
 * the whole identity row it loaded when the request began, and an admin PATCH rewrites the
 * whole identity (credentials included) it read a moment before. So:
 *
 * - every Kratos write of the service for an identity (`withKratosWrite`, kratos-sync.ts) holds a per-identity
 *   lock and never overlaps a settings submit that Kratos is persisting (`write_flow_id`, set
 *   by the pre-persist hook, cleared by the post-persist one or after SETTINGS_WRITE_LEASE_MS);
 * - each of those writes, and each persisted settings submit, leaves a new `kg_revision` in
 *   `metadata_public`; a submit whose copy (loaded when its request began) has an older one is
 *   refused, since Kratos would write that copy back, credentials included;
 * - the settings pre-persist hook answers the current values, so a submit persists them;
 * - after each change the service reads the identity back and re-applies until it holds;
 * - post-persist and login hooks and the reconciler compare both sides and repair drift,
 *   audited as `system.authorization_repaired`.
 *
 * This file holds the record and how it maps onto Kratos's copy (and the record's reads);
 * kratos-sync.ts the writes that bring Kratos in step; settings-write.ts the settings lease.
 */
export type { Authorization }

export interface AuthzDeps {
  database: Database
  kratos: KratosAdmin
  log?: Logger
}

export type AuthzField =
  | "role"
  | "role_assigned_at"
  | "force_password_change"
  | "manager_id"
  | "force_password_change_fingerprint"
  | "state"

const PUBLIC_KEYS = ["role", "role_assigned_at", "force_password_change"] as const
export const ADMIN_KEYS = ["manager_id", "force_password_change_fingerprint"] as const
/**
 * A new value on every write of the identity the service makes or answers (Kratos's own
 * `updated_at` does not move when it updates an identity). Not authorization state.
 */
export const REVISION_KEY = "kg_revision"

export const newRevision = () => randomBytes(8).toString("hex")

/** What Kratos holds of an identity's authorization state, as stored (not parsed). */
export interface KratosSide {
  revision: string | null
  metadataPublic: Record<string, unknown>
  metadataAdmin: Record<string, unknown>
  state: string | null
}

export const asObject = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

export const revisionOf = (metadataPublic: unknown): string | null => {
  const r = asObject(metadataPublic)[REVISION_KEY]
  return typeof r === "string" ? r : null
}

export function kratosSide(i: Identity): KratosSide {
  return {
    revision: revisionOf(i.metadata_public),
    metadataPublic: asObject(i.metadata_public),
    metadataAdmin: asObject(i.metadata_admin),
    state: i.state ?? null,
  }
}

export function kratosSideOf(s: CredentialSummary): KratosSide {
  return {
    revision: revisionOf(s.rawMetadata ? s.rawMetadata.public : s.metadataPublic),
    metadataPublic: asObject(s.rawMetadata ? s.rawMetadata.public : s.metadataPublic),
    metadataAdmin: asObject(s.rawMetadata ? s.rawMetadata.admin : s.metadataAdmin),
    state: s.state,
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

export function forceFlagOf(a: Authorization): ForcePasswordChange | null {
  if (!a.forceSetAt) return null
  return {
    required: a.forceRequired,
    set_at: a.forceSetAt.toISOString(),
    set_by: a.forceSetBy ?? "",
    cleared_at: iso(a.forceClearedAt),
  }
}

/** Our keys as Kratos must hold them; a value the service doesn't have is left out. */
function ours(a: Authorization) {
  const pub: Record<string, unknown> = { role: a.role }
  if (a.roleAssignedAt) pub.role_assigned_at = a.roleAssignedAt.toISOString()
  const flag = forceFlagOf(a)
  if (flag) pub.force_password_change = flag
  const adm: Record<string, unknown> = {}
  if (a.managerId) adm.manager_id = a.managerId
  if (a.forceFingerprint) adm.force_password_change_fingerprint = a.forceFingerprint
  return { pub, adm }
}

function without(obj: Record<string, unknown>, keys: readonly string[]) {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)))
}

/**
 * The metadata and state Kratos should hold: the keys kratos-guard owns from the service's
 * record (and `revision` when the caller writes them), every other key as Kratos has it now.
 */
export function expectedKratos(a: Authorization, current: KratosSide, revision?: string) {
  const { pub, adm } = ours(a)
  return {
    metadata_public: {
      ...without(current.metadataPublic, PUBLIC_KEYS),
      ...pub,
      ...(revision ? { [REVISION_KEY]: revision } : {}),
    },
    metadata_admin: { ...without(current.metadataAdmin, ADMIN_KEYS), ...adm },
    state: a.state as "active" | "inactive",
  }
}

/** Two timestamps as instants (Kratos and JSON carry them in different spellings). */
function sameInstant(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return a == b
  if (typeof a !== "string" || typeof b !== "string") return false
  if (a === b) return true
  const x = instantKey(a)
  return x !== null && x === instantKey(b)
}

/** RFC 3339 to "epoch ms of the whole second + nanoseconds", or null when unparseable. */
function instantKey(v: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(v)
  if (!m) return null
  const seconds = Date.parse(`${m[1]}${m[3]}`)
  return Number.isNaN(seconds) ? null : `${seconds}.${(m[2] ?? "").padEnd(9, "0")}`
}

const absent = (v: unknown) => v === null || v === undefined

function sameFlag(want: ForcePasswordChange | null, have: unknown): boolean {
  if (!want) return absent(have)
  const h = asObject(have)
  return (
    h.required === want.required &&
    sameInstant(want.set_at, h.set_at) &&
    h.set_by === want.set_by &&
    sameInstant(want.cleared_at ?? null, h.cleared_at ?? null)
  )
}

/** The fields on which Kratos differs from the service's record; empty when they agree. */
export function driftOf(a: Authorization, k: KratosSide): AuthzField[] {
  const out: AuthzField[] = []
  const pub = k.metadataPublic
  const adm = k.metadataAdmin
  if (pub.role !== a.role) out.push("role")
  if (!sameInstant(iso(a.roleAssignedAt), pub.role_assigned_at ?? null))
    out.push("role_assigned_at")
  if (!sameFlag(forceFlagOf(a), pub.force_password_change)) out.push("force_password_change")
  const manager = typeof adm.manager_id === "string" ? adm.manager_id.toLowerCase() : adm.manager_id
  if ((a.managerId ?? null) !== (manager ?? null)) out.push("manager_id")
  if ((a.forceFingerprint ?? null) !== (adm.force_password_change_fingerprint ?? null))
    out.push("force_password_change_fingerprint")
  if (k.state !== a.state) out.push("state")
  return out
}

/** Our fields as Kratos holds them, for the audit entry of a repair. */
export function kratosValues(k: KratosSide, fields: AuthzField[]) {
  const pick = (f: AuthzField) =>
    (ADMIN_KEYS as readonly string[]).includes(f)
      ? k.metadataAdmin[f]
      : f === "state"
        ? k.state
        : k.metadataPublic[f]
  return Object.fromEntries(fields.map((f) => [f, pick(f) ?? null]))
}

export function serviceValues(a: Authorization, fields: AuthzField[]) {
  const { pub, adm } = ours(a)
  const all: Record<string, unknown> = { ...pub, ...adm, state: a.state }
  return Object.fromEntries(fields.map((f) => [f, all[f] ?? null]))
}

/** A person's record taken from what Kratos holds (for identities that predate the table). */
export function seedFrom(
  identityId: string,
  k: KratosSide,
  origin: "kratos" | "registration" | "provisioning",
) {
  const pub = readPublicMetadata(k.metadataPublic)
  const adm = guardAdminMetadata.safeParse(k.metadataAdmin)
  const flag = pub.force_password_change
  const admin = adm.success ? adm.data : {}
  const row = {
    identityId,
    role: pub.role,
    roleAssignedAt: pub.role_assigned_at ? new Date(pub.role_assigned_at) : null,
    managerId: admin.manager_id?.toLowerCase() ?? null,
    forceRequired: flag?.required ?? false,
    forceSetAt: flag ? new Date(flag.set_at) : null,
    forceSetBy: flag?.set_by ?? null,
    forceClearedAt: flag?.cleared_at ? new Date(flag.cleared_at) : null,
    forceFingerprint: admin.force_password_change_fingerprint ?? null,
    state: k.state === "inactive" ? "inactive" : "active",
    version: 1,
    origin,
    updatedBy: "system",
  }
  // Kratos holds exactly this record unless a value was missing or malformed: then it is not
  // in step yet, and the first sync writes the record without calling that a repair.
  const inStep = driftOf({ ...row, syncedVersion: 1 } as Authorization, k).length === 0
  return { ...row, syncedVersion: inStep ? 1 : null, syncedAt: inStep ? new Date() : null }
}

/** The summary as the service decides it: role, manager, flags and state from its record. */
export function withAuthorization(s: CredentialSummary, a: Authorization): CredentialSummary {
  const flag = forceFlagOf(a)
  const { force_password_change: _f, role_assigned_at: _r, ...publicRest } = s.metadataPublic
  const { manager_id: _m, force_password_change_fingerprint: _p, ...adminRest } = s.metadataAdmin
  return {
    ...s,
    role: a.role as Role,
    state: a.state,
    managerId: a.managerId,
    metadataPublic: {
      ...publicRest,
      role: a.role as Role,
      role_assigned_at: iso(a.roleAssignedAt),
      ...(flag ? { force_password_change: flag } : {}),
    },
    metadataAdmin: {
      ...adminRest,
      manager_id: a.managerId,
      force_password_change_fingerprint: a.forceFingerprint,
    },
  }
}

/**
 * The service's record of a person. Reads never write: for an identity that has no record yet
 * (one that predates the records, or was made in Kratos directly) it is the record as it would
 * be seeded from Kratos's copy, not stored. That is the same answer a stored seed would give,
 * since the service has never written such an identity: every write of the service seeds the
 * record first (`ensureAuthorization`, `withKratosWrite`), as do registration, provisioning and
 * the reconciler. `known` saves the Kratos read when the caller has just made it. Null when
 * Kratos has no such identity.
 */
export async function authorizationOf(
  d: AuthzDeps,
  identityId: string,
  known?: CredentialSummary | null,
): Promise<Authorization | null> {
  const row = await loadAuthorization(d.database.db, identityId)
  if (row) return row
  const s = known ?? (await d.kratos.summary(identityId))
  return s ? unstored(seedFrom(identityId, kratosSideOf(s), "kratos")) : null
}

/** The record as stored, seeding it from Kratos first if missing: for a change about to be written. */
export async function ensureAuthorization(
  d: AuthzDeps,
  identityId: string,
): Promise<Authorization | null> {
  const row = await loadAuthorization(d.database.db, identityId)
  if (row) return row
  const s = await d.kratos.summary(identityId)
  if (!s) return null
  return insertAuthorization(d.database.db, seedFrom(identityId, kratosSideOf(s), "kratos"))
}

/** A seed as the record it would become once stored. */
function unstored(seed: ReturnType<typeof seedFrom>): Authorization {
  return {
    ...seed,
    stateChangedAt: null,
    updatedAt: new Date(),
    writeFlowId: null,
    writeUntil: null,
  }
}

/**
 * A Kratos identity read together with the service's record of it, the record overlaid
 * (role, manager, flags, state). Null when there is no such identity.
 */
export async function authorizedSummary(
  d: AuthzDeps,
  identityId: string,
  /** Where the Kratos summary comes from (the gate's cache); the admin API by default. */
  readSummary: (id: string) => Promise<CredentialSummary | null> = (id) => d.kratos.summary(id),
): Promise<{ summary: CredentialSummary; authz: Authorization } | null> {
  const [s, row] = await Promise.all([
    readSummary(identityId),
    loadAuthorization(d.database.db, identityId),
  ])
  if (!s) return null
  const authz = row ?? (await authorizationOf(d, identityId, s))
  return authz ? { summary: withAuthorization(s, authz), authz } : null
}

/** Role of a signed-in person for admin checks; null when deactivated or unknown. */
export async function activeRoleOf(d: AuthzDeps, identityId: string): Promise<Role | null> {
  const a = await authorizationOf(d, identityId)
  return a && a.state === "active" ? (a.role as Role) : null
}

export const authzRefusals = {
  deactivated: {
    id: 4100106,
    text: "This account has been deactivated.",
    pointer: "#/",
  },
  changedMeanwhile: {
    id: 4100107,
    text: "Your account was changed while this was being saved, so it was not saved. Please try again.",
    pointer: "#/",
  },
} satisfies Record<string, Refusal>

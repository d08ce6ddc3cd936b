import { randomBytes } from "node:crypto"
import { setTimeout as sleep } from "node:timers/promises"
import type { Identity, JsonPatch } from "../kratos/types"
import type { Logger } from "pino"
import type { Database, Db } from "../../db/client"
import {
  authzFromJson,
  endLease,
  insertAuthorization,
  insertAuthorizationIn,
  loadAuthorization,
  loadAuthorizations,
  lockIdentity,
  lockIdentityIn,
  markSynced,
  readForUpdate,
  readForWrite,
  readWithLease,
  takeLeaseStatement,
  updateAuthorization,
  type Authorization,
  type AuthorizationChange,
  type NewAuthorization,
} from "../data/authz"
import { pipelinedTransaction, type Statement } from "../data/transaction"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import {
  guardAdminMetadata,
  readPublicMetadata,
  type CredentialSummary,
  type ForcePasswordChange,
} from "../kratos/identity"
import { appendAudit } from "./audit"
import { gateCache } from "./gate-cache"
import type { Role } from "../policy/roles"
import type { Refusal } from "./settings-rules"

/**
 * The service's database is the source of truth for a person's role, manager, forced password
 * change and deactivation (`identity_authz`). Kratos holds a copy in `metadata_public`,
 * `metadata_admin` and `state`, which its own writes can undo: a settings submit writes back
 * the whole identity row it loaded when the request began, and an admin PATCH rewrites the
 * whole identity (credentials included) it read a moment before. So:
 *
 * - every Kratos write of the service for an identity (`withKratosWrite`) holds a per-identity
 *   lock and never overlaps a settings submit that Kratos is persisting (`write_flow_id`, set
 *   by the pre-persist hook, cleared by the post-persist one or after SETTINGS_WRITE_LEASE_MS);
 * - each of those writes, and each persisted settings submit, leaves a new `kg_revision` in
 *   `metadata_public`; a submit whose copy (loaded when its request began) has an older one is
 *   refused, since Kratos would write that copy back, credentials included;
 * - the settings pre-persist hook answers the current values, so a submit persists them;
 * - after each change the service reads the identity back and re-applies until it holds;
 * - post-persist and login hooks and the reconciler compare both sides and repair drift,
 *   audited as `system.authorization_repaired`.
 */
export type { Authorization }

export interface AuthzDeps {
  database: Database
  kratos: KratosAdmin
  log?: Logger
}

/** Longest a settings submit may take from our pre-persist answer to its post-persist call. */
export const SETTINGS_WRITE_LEASE_MS = 5000
/** Patches one sync makes (each read back) before it reports Kratos out of step. */
const MAX_APPLY_ATTEMPTS = 5
const POLL_MS = 15

export type AuthzField =
  | "role"
  | "role_assigned_at"
  | "force_password_change"
  | "manager_id"
  | "force_password_change_fingerprint"
  | "state"

const PUBLIC_KEYS = ["role", "role_assigned_at", "force_password_change"] as const
const ADMIN_KEYS = ["manager_id", "force_password_change_fingerprint"] as const
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

const asObject = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

const revisionOf = (metadataPublic: unknown): string | null => {
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
function kratosValues(k: KratosSide, fields: AuthzField[]) {
  const pick = (f: AuthzField) =>
    (ADMIN_KEYS as readonly string[]).includes(f)
      ? k.metadataAdmin[f]
      : f === "state"
        ? k.state
        : k.metadataPublic[f]
  return Object.fromEntries(fields.map((f) => [f, pick(f) ?? null]))
}

function serviceValues(a: Authorization, fields: AuthzField[]) {
  const { pub, adm } = ours(a)
  const all: Record<string, unknown> = { ...pub, ...adm, state: a.state }
  return Object.fromEntries(fields.map((f) => [f, all[f] ?? null]))
}

/** A person's record taken from what Kratos holds (for identities that predate the table). */
export function seedFrom(
  identityId: string,
  k: KratosSide,
  origin: "kratos" | "registration" | "provisioning",
): NewAuthorization {
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
 * The service's record of a person, seeded from Kratos the first time it is asked for (for
 * identities that predate it). `known` saves the Kratos read when the caller has just made it.
 * Null when Kratos has no such identity.
 */
export async function authorizationOf(
  d: AuthzDeps,
  identityId: string,
  known?: CredentialSummary | null,
): Promise<Authorization | null> {
  const row = await loadAuthorization(d.database.db, identityId)
  if (row) return row
  const s = known ?? (await d.kratos.summary(identityId))
  if (!s) return null
  return insertAuthorization(d.database.db, seedFrom(identityId, kratosSideOf(s), "kratos"))
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

/**
 * Runs `work` holding the identity's lock, once no settings submit is being persisted for it
 * (other than `ownFlow`): the only window in which the service may write the identity in
 * Kratos without undoing, or being undone by, what Kratos is writing. The record is seeded
 * from Kratos if missing; `work` gets the transaction (use it for every query inside).
 */
export async function withKratosWrite<T>(
  d: AuthzDeps,
  identityId: string,
  work: (tx: Db, row: Authorization) => Promise<T>,
  opts: { ownFlow?: string | null } = {},
): Promise<{ value: T; waitedMs: number } | null> {
  const started = Date.now()
  const deadline = started + SETTINGS_WRITE_LEASE_MS + 1000
  gateCache.changing(identityId)
  for (;;) {
    const outcome = await d.database.db.transaction(async (tx) => {
      await lockIdentity(tx, identityId)
      let row = await readWithLease(tx, identityId)
      if (!row) {
        const s = await d.kratos.summary(identityId)
        if (!s) return { kind: "gone" as const }
        await insertAuthorization(tx, seedFrom(identityId, kratosSideOf(s), "kratos"))
        row = await readWithLease(tx, identityId)
      }
      const { writing, ...authz } = row!
      if (writing && authz.writeFlowId !== (opts.ownFlow ?? null)) return { kind: "busy" as const }
      return { kind: "done" as const, value: await work(tx, authz) }
    })
    if (outcome.kind === "gone") return null
    if (outcome.kind === "done") {
      // Again once written: a gate read made while it ran may hold what Kratos had before.
      gateCache.changing(identityId)
      return { value: outcome.value, waitedMs: Date.now() - started }
    }
    // Only if submits keep following each other past a whole lease.
    if (Date.now() > deadline) {
      throw new AppError("UNAVAILABLE", "a settings change of this person is being saved", {
        reason: "identity_busy",
      })
    }
    await sleep(POLL_MS)
  }
}

export type SyncSource = "admin" | "user" | "settings" | "login" | "reconciler"

export interface SyncResult {
  /** Kratos already held the record: nothing was written. */
  inStep: boolean
  /** Fields found differing from a record Kratos had been seen to hold (audited). */
  repaired: AuthzField[]
  patches: number
  waitedMs: number
}

const readIdentity = (kratos: KratosAdmin, id: string): Promise<Identity | null> =>
  kratos.identity(id)

/** One JSON Patch that writes what differs; a deactivation also ends every session. */
async function apply(
  kratos: KratosAdmin,
  id: string,
  a: Authorization,
  k: KratosSide,
  drift: AuthzField[],
) {
  const want = expectedKratos(a, k, newRevision())
  // metadata_public always: its new revision tells a settings submit that loaded the identity
  // before this write that it must not write its copy back.
  const jsonPatch: JsonPatch[] = [
    { op: "add", path: "/metadata_public", value: want.metadata_public },
  ]
  if (drift.some((f) => (ADMIN_KEYS as readonly string[]).includes(f)))
    jsonPatch.push({ op: "add", path: "/metadata_admin", value: want.metadata_admin })
  if (drift.includes("state")) jsonPatch.push({ op: "replace", path: "/state", value: a.state })
  await kratos.patchIdentity(id, jsonPatch)
  if (drift.includes("state") && a.state === "inactive") await kratos.deleteSessions(id)
}

/**
 * A new revision after a write that leaves our keys alone (a 2FA reset), so that a settings
 * submit that loaded the identity before it is refused (see REVISION_KEY). Call it inside
 * `withKratosWrite`.
 */
export async function bumpRevision(kratos: KratosAdmin, id: string): Promise<void> {
  const identity = await readIdentity(kratos, id)
  if (!identity) return
  const value = { ...asObject(identity.metadata_public), [REVISION_KEY]: newRevision() }
  await kratos.patchIdentity(id, [{ op: "add", path: "/metadata_public", value }])
}

/**
 * Brings Kratos in step with the service's record: reads the identity, writes what differs,
 * reads it back, and again until it holds (at most MAX_APPLY_ATTEMPTS patches). Kratos found
 * differing from a version it had been seen to hold is a repair, audited as
 * `system.authorization_repaired`. Throws when Kratos can't be brought in step; the record
 * stays as it is (in force in the service) and the next hook or reconciler run tries again.
 */
export async function bringKratosInStep(
  d: AuthzDeps,
  identityId: string,
  opts: { source: SyncSource; flowId?: string | null; requestId?: string | null },
): Promise<SyncResult | null> {
  const done = await withKratosWrite(
    d,
    identityId,
    async (tx, row) => {
      let repaired: AuthzField[] = []
      let repairedFrom: Record<string, unknown> = {}
      for (let patches = 0; ; patches++) {
        const identity = await readIdentity(d.kratos, identityId)
        if (!identity) return { inStep: false, repaired, patches }
        const k = kratosSide(identity)
        const drift = driftOf(row, k)
        if (drift.length === 0) {
          await markSynced(tx, row)
          if (repaired.length > 0) await auditRepair(tx, row, k, repaired, repairedFrom, opts)
          return { inStep: patches === 0, repaired, patches }
        }
        // Differing from what Kratos was seen to hold, or not holding what was just written:
        // something else wrote the identity.
        if (repaired.length === 0 && (patches > 0 || row.syncedVersion === row.version)) {
          repaired = drift
          repairedFrom = kratosValues(k, drift)
        }
        if (patches >= MAX_APPLY_ATTEMPTS) {
          throw new AppError(
            "UNAVAILABLE",
            `Kratos does not keep ${drift.join(", ")} after ${patches} writes`,
            { reason: "kratos_out_of_step" },
          )
        }
        if (patches > 0) await sleep(20 * patches)
        await apply(d.kratos, identityId, row, k, drift)
      }
    },
    { ownFlow: opts.flowId },
  )
  if (!done) return null
  if (done.value.repaired.length > 0) {
    d.log?.warn(
      { identityId, source: opts.source, fields: done.value.repaired },
      "Kratos had lost the authorization state; repaired",
    )
  }
  return { ...done.value, waitedMs: done.waitedMs }
}

async function auditRepair(
  tx: Db,
  row: Authorization,
  k: KratosSide,
  fields: AuthzField[],
  found: Record<string, unknown>,
  opts: { source: SyncSource; flowId?: string | null; requestId?: string | null },
): Promise<void> {
  await appendAudit(tx, {
    event: "system.authorization_repaired",
    actorType: "system",
    actorId: null,
    subjectId: row.identityId,
    flowId: opts.flowId ?? null,
    requestId: opts.requestId ?? null,
    posture: { role: row.role, state: row.state, force_password_change: row.forceRequired },
    details: {
      source: opts.source,
      fields,
      kratos_had: found,
      restored: serviceValues(row, fields),
      version: row.version,
    },
    dedupKey: `authz_repair:${row.identityId}:${row.version}:${k.revision ?? ""}`,
  })
}

/**
 * An admin's (or the person's own) change to the record: decided and written with its audit
 * entry in one transaction (the row locked, so concurrent changes see each other), then
 * Kratos is brought in step. `decide` answers the new values or null for no change.
 */
export async function changeAuthorization<R>(
  d: AuthzDeps,
  identityId: string,
  opts: { by: string | null; requestId: string; source: "admin" | "user" },
  decide: (current: Authorization) => {
    set: AuthorizationChange | null
    result: R
  },
  record: (tx: Db, before: Authorization, after: Authorization, result: R) => Promise<void>,
): Promise<{ result: R; before: Authorization; after: Authorization; changed: boolean }> {
  if (!(await authorizationOf(d, identityId))) throw new AppError("NOT_FOUND", "no such user")
  const out = await d.database.db.transaction(async (tx) => {
    const before = await readForUpdate(tx, identityId)
    const { set, result } = decide(before!)
    if (!set) return { result, before: before!, after: before!, changed: false }
    const after = await updateAuthorization(tx, identityId, set, opts.by)
    await record(tx, before!, after!, result)
    return { result, before: before!, after: after!, changed: true }
  })
  if (out.changed || out.after.syncedVersion !== out.after.version) {
    await inStepOrExplain(d, identityId, { source: opts.source, requestId: opts.requestId })
  }
  return out
}

/** A sync after a change that is already saved: a failure says so, and what happens next. */
export async function inStepOrExplain(
  d: AuthzDeps,
  identityId: string,
  opts: { source: SyncSource; requestId?: string | null },
): Promise<void> {
  try {
    await bringKratosInStep(d, identityId, opts)
  } catch (err) {
    d.log?.warn({ err, identityId }, "change saved, but Kratos could not be brought in step")
    throw new AppError(
      "UNAVAILABLE",
      "The change is saved and in force in kratos-guard, but Kratos could not be updated yet. " +
        "It is applied again on the person's next sign-in or settings change and by the " +
        "reconciler; repeating the request is safe.",
      { reason: "kratos_out_of_step", saved: true },
    )
  }
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

/** What a settings pre-persist call sees under the identity's lock. */
export interface SettingsWriteView {
  authz: Authorization
  summary: CredentialSummary
  /** Password changes pending or confirmed within `passwordWindowMs` (0 when not asked). */
  recentPasswordChanges: number
}

/**
 * Settings pre-persist: waits (bounded) until no other settings submit is being persisted and
 * no service write is under way, then, holding the identity's lock, reads the Kratos summary,
 * refuses a deactivated person and a submit whose identity was written since Kratos loaded it
 * for this request (an older `revision` in the copy it sent: Kratos would write that copy
 * back, undoing the write, e.g. a 2FA reset or another submit), and asks `decide`. When it
 * allows the change, the identity is taken for this flow until its post-persist call and
 * `decide`'s own write (`write`, the pending record) is made in the same transaction; a
 * refusal writes nothing. `decide` runs while the transaction holds a pool connection: it
 * must not query the pool (read what it needs before).
 */
export async function beginSettingsWrite<T>(
  d: AuthzDeps,
  body: {
    identity_id: string
    flow_id: string
    identity: { metadata_public: Record<string, unknown> | null }
  },
  decide: (
    view: SettingsWriteView,
  ) => Promise<{ refusal: Refusal } | { value: T; write: Statement }>,
  opts: { passwordWindowMs?: number } = {},
): Promise<
  | { kind: "granted"; value: T; authz: Authorization; summary: CredentialSummary }
  | { kind: "refused"; refusal: Refusal }
  | { kind: "gone" }
> {
  const id = body.identity_id
  const windowSecs = opts.passwordWindowMs === undefined ? null : opts.passwordWindowMs / 1000
  const deadline = Date.now() + SETTINGS_WRITE_LEASE_MS + 1000
  for (;;) {
    // BEGIN goes with the lock and the read, COMMIT with the lease and the pending record.
    type Outcome =
      | { kind: "busy" }
      | { kind: "gone" }
      | { kind: "refused"; refusal: Refusal }
      | { kind: "granted"; value: T; authz: Authorization; summary: CredentialSummary }
    const outcome = await pipelinedTransaction<Outcome>(d.database.db, async (query) => {
      const read = () => readForWrite(query, id, windowSecs)
      const done = (value: Outcome) => ({ value, last: [] as Statement[] })
      // Sent together; the read takes its snapshot once the lock is granted.
      let [, [row]] = await Promise.all([lockIdentityIn(query, id), read()])
      if (row?.authz && row.writing && row.authz.write_flow_id !== body.flow_id)
        return done({ kind: "busy" as const })
      const summary = await d.kratos.summary(id)
      if (!summary) return done({ kind: "gone" as const })
      if (!row?.authz) {
        const seed = seedFrom(id, kratosSideOf(summary), "kratos")
        ;[, [row]] = await Promise.all([insertAuthorizationIn(query, seed), read()])
      }
      const authz = authzFromJson(row!.authz!)
      if (authz.state === "inactive")
        return done({ kind: "refused" as const, refusal: authzRefusals.deactivated })
      if (revisionOf(body.identity.metadata_public) !== kratosSideOf(summary).revision) {
        return done({ kind: "refused" as const, refusal: authzRefusals.changedMeanwhile })
      }
      const decided = await decide({ authz, summary, recentPasswordChanges: row!.recent ?? 0 })
      if ("refusal" in decided) {
        return done({ kind: "refused" as const, refusal: decided.refusal })
      }
      return {
        value: { kind: "granted" as const, value: decided.value, authz, summary },
        last: [takeLeaseStatement(id, body.flow_id, SETTINGS_WRITE_LEASE_MS / 1000), decided.write],
      }
    })
    if (outcome.kind !== "busy") return outcome
    if (Date.now() > deadline) {
      throw new AppError("UNAVAILABLE", "another change to this account is being saved")
    }
    await sleep(POLL_MS)
  }
}

/**
 * Post-persist (or a failure after the lease was taken): the flow's write is over. Answers the
 * record as it is now (one statement: the lease it clears is not part of what it answers).
 */
export function endSettingsWrite(
  db: Db,
  identityId: string,
  flowId: string,
): Promise<Authorization | null> {
  return endLease(db, identityId, flowId)
}

/**
 * After Kratos wrote the identity (settings post-persist, login): repairs it if it does not
 * hold the service's record. `after` is what Kratos showed after the write; `known` is the
 * record when the caller has just read it (after any write of its own).
 */
export async function recheck(
  d: AuthzDeps,
  identityId: string,
  after: CredentialSummary,
  opts: { source: SyncSource; flowId?: string | null; requestId?: string | null },
  known?: Authorization | null,
): Promise<SyncResult | null> {
  const row = known ?? (await authorizationOf(d, identityId, after))
  if (!row) return null
  if (driftOf(row, kratosSideOf(after)).length === 0 && row.syncedVersion === row.version)
    return null
  return bringKratosInStep(d, identityId, opts)
}

export interface ReconcileReport {
  checked: number
  seeded: number
  applied: number
  repaired: number
  failed: number
}

/**
 * Compares every Kratos identity with the service's record: seeds the record of identities
 * that predate it (backfill), and brings Kratos in step where it differs or a change was never
 * confirmed (audited as a repair when Kratos had held the record before).
 */
export async function reconcileAuthorization(
  d: AuthzDeps,
  opts: { pageSize?: number } = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, seeded: 0, applied: 0, repaired: 0, failed: 0 }
  let pageToken: string | undefined
  do {
    const page = await d.kratos.listIdentities({ pageSize: opts.pageSize ?? 500, pageToken })
    const rows = await loadAuthorizations(
      d.database.db,
      page.identities.map((i) => i.id),
    )
    for (const identity of page.identities) {
      report.checked++
      const k = kratosSide(identity)
      let row = rows.get(identity.id)
      if (!row) {
        row = await insertAuthorization(d.database.db, seedFrom(identity.id, k, "kratos"))
        report.seeded++
      }
      if (driftOf(row, k).length === 0 && row.syncedVersion === row.version) continue
      try {
        const r = await bringKratosInStep(d, identity.id, { source: "reconciler" })
        if (r && r.repaired.length > 0) report.repaired++
        else if (r && !r.inStep) report.applied++
      } catch (err) {
        report.failed++
        d.log?.warn({ err, identityId: identity.id }, "could not bring Kratos in step")
      }
    }
    pageToken = page.nextPageToken
  } while (pageToken)
  if (report.seeded + report.applied + report.repaired + report.failed > 0) {
    d.log?.info({ ...report }, "authorization state reconciled")
  }
  return report
}

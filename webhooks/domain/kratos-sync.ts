import { setTimeout as sleep } from "node:timers/promises"
import type { Identity, JsonPatch } from "../kratos/types"
import type { Tx } from "../../db/client"
import {
  insertAuthorization,
  loadAuthorizations,
  lockIdentity,
  markSynced,
  readForUpdate,
  readWithLease,
  updateAuthorization,
  type Authorization,
  type AuthorizationChange,
} from "../data/authz"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import type { CredentialSummary } from "../kratos/identity"
import { appendAudit } from "./audit"
import {
  ADMIN_KEYS,
  asObject,
  authorizationOf,
  ensureAuthorization,
  driftOf,
  expectedKratos,
  kratosSide,
  kratosSideOf,
  kratosValues,
  newRevision,
  REVISION_KEY,
  seedFrom,
  serviceValues,
  type AuthzDeps,
  type AuthzField,
  type KratosSide,
} from "./authorization"
import { gateCache } from "./gate-cache"
import { POLL_MS, SETTINGS_WRITE_LEASE_MS } from "./settings-write"

/**
 * Bringing Kratos in step with the service's record (authorization.ts): every service write
 * of an identity in Kratos under the identity's lock and outside a settings submit's lease,
 * read back until it holds; the record's own changes; the reconciler over every identity.
 */

/** Patches one sync makes (each read back) before it reports Kratos out of step. */
const MAX_APPLY_ATTEMPTS = 5

/**
 * Runs `work` holding the identity's lock, once no settings submit is being persisted for it
 * (other than `ownFlow`): the only window in which the service may write the identity in
 * Kratos without undoing, or being undone by, what Kratos is writing. The record is seeded
 * from Kratos if missing; `work` gets the transaction (use it for every query inside).
 */
export async function withKratosWrite<T>(
  d: AuthzDeps,
  identityId: string,
  work: (tx: Tx, row: Authorization) => Promise<T>,
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
  tx: Tx,
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
  record: (tx: Tx, before: Authorization, after: Authorization, result: R) => Promise<void>,
): Promise<{ result: R; before: Authorization; after: Authorization; changed: boolean }> {
  if (!(await ensureAuthorization(d, identityId))) throw new AppError("NOT_FOUND", "no such user")
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

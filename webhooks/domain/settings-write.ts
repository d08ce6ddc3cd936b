import { setTimeout as sleep } from "node:timers/promises"
import type { Db } from "../../db/client"
import {
  authzFromJson,
  endLease,
  insertAuthorizationIn,
  lockIdentityIn,
  readForWrite,
  takeLeaseStatement,
  type Authorization,
} from "../data/authz"
import { pipelinedTransaction, type Statement } from "../data/transaction"
import { AppError } from "../errors"
import type { CredentialSummary } from "../kratos/identity"
import { authzRefusals, kratosSideOf, revisionOf, seedFrom, type AuthzDeps } from "./authorization"
import type { Refusal } from "./settings-rules"

/** Longest a settings submit may take from our pre-persist answer to its post-persist call. */
export const SETTINGS_WRITE_LEASE_MS = 5000
/** How often a write waiting for a settings submit's lease looks again. */
export const POLL_MS = 15

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

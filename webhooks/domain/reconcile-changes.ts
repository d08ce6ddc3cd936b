import type { SettingsMethod } from "../../kratos/hooks/bodies"
import { abandonPending, stalePending } from "../data/pending-changes"
import type { CredentialSummary } from "../kratos/identity"
import { authorizationOf, withAuthorization } from "./authorization"
import { changeEvents } from "./change-events"
import type { ChangeDeps } from "./hook-trail"
import { recordChange } from "./record-change"

/**
 * Settles pending changes whose post-persist call never came (the service was down, or Kratos
 * refused the change after our pre-persist hook allowed it): compares the admin API's current
 * state with the recorded before-state and writes the audit entries of what Kratos stored,
 * or marks the record abandoned when nothing changed.
 */
export async function reconcilePendingChanges(
  d: ChangeDeps,
  opts: { olderThanMs: number; limit?: number },
): Promise<{ confirmed: number; abandoned: number }> {
  const db = d.database.db
  const rows = await stalePending(db, new Date(Date.now() - opts.olderThanMs), opts.limit ?? 100)
  let confirmed = 0
  let abandoned = 0
  for (const row of rows) {
    const after = await d.kratos.summary(row.identityId)
    const method = row.method as SettingsMethod
    const events = after ? changeEvents(method, row.before as CredentialSummary, after) : []
    if (!after || events.length === 0) {
      await abandonPending(db, row.id)
      abandoned++
      continue
    }
    const authz = await authorizationOf(d, row.identityId, after)
    await recordChange(d, {
      method,
      before: row.before as CredentialSummary,
      after: authz ? withAuthorization(after, authz) : after,
      flowId: row.flowId,
      ip: row.ip,
      userAgent: row.userAgent,
      requestId: row.requestId,
      pendingId: row.id,
    })
    confirmed++
  }
  if (rows.length > 0) d.log.info({ confirmed, abandoned }, "pending security changes reconciled")
  return { confirmed, abandoned }
}

import type { Database, Db } from "../../db/client"
import { deleteDeliveriesOlderThan, insertDelivery } from "../data/hook-deliveries"

/**
 * What is kept of a hook call's body: the flow's shape, for an operator following a flow next
 * to the logs and the audit trail. Not the traits, the client's address and user agent or the
 * metadata: the audit trail keeps what a security change needs, and a delivery outlives its
 * use only as a privacy cost.
 */
export interface DeliveryShape {
  flow_type?: string
  flow_state?: string
  action_nodes?: string[]
  requested_aal?: string
  refresh?: boolean
  session_aal?: string
  authentication_methods?: string[]
}

export interface HookDelivery {
  hook: string
  flowId: string | null
  identityId: string | null
  payload: DeliveryShape
  requestId: string | null
}

/** The operator's part of a hook body (the schemas of kratos/hooks/bodies.ts). */
export function deliveryShape(body: {
  flow_type: string
  flow_state?: string | null
  action_nodes?: string[]
  requested_aal?: string | null
  refresh?: boolean
  session?: {
    aal: string | null
    authentication_methods: { method: string }[]
  } | null
}): DeliveryShape {
  // Absent and null are the same to an operator (and to the migration of older rows).
  const shape: Record<string, unknown> = {
    flow_type: body.flow_type,
    flow_state: body.flow_state,
    action_nodes: body.action_nodes,
    requested_aal: body.requested_aal,
    refresh: body.refresh,
    session_aal: body.session?.aal,
    authentication_methods: body.session?.authentication_methods.map((m) => m.method),
  }
  return Object.fromEntries(
    Object.entries(shape).filter(([, v]) => v !== undefined && v !== null),
  ) as DeliveryShape
}

/** Records a Kratos webhook call as received. */
export function recordHookDelivery(db: Db, delivery: HookDelivery): Promise<void> {
  return insertDelivery(db, delivery)
}

/**
 * Deletes deliveries received more than `days` ago, a batch at a time so no statement holds
 * many row locks; answers how many went. Safe to run on every replica at once.
 */
export async function pruneHookDeliveries(
  database: Database,
  days: number,
  batch = 5000,
): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await deleteDeliveriesOlderThan(database, days, batch)
    total += deleted
    if (deleted < batch) return total
  }
}

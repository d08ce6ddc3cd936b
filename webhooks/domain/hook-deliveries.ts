import type { Db } from "../../db/client"
import { hookDeliveries } from "../../db/schema"

export interface HookDelivery {
  hook: string
  flowId: string | null
  identityId: string | null
  payload: unknown
  requestId: string | null
}

/** Records a Kratos webhook call as received (the jsonnet already dropped every secret). */
export async function recordHookDelivery(db: Db, delivery: HookDelivery): Promise<void> {
  await db.insert(hookDeliveries).values(delivery)
}

import type { Database, Db } from "../../db/client"
import { rawQuery } from "../../db/raw"

/** `hook_deliveries`: each Kratos webhook call as received (its flow's shape, no traits). */
export interface NewDelivery {
  hook: string
  flowId: string | null
  identityId: string | null
  payload: unknown
  requestId: string | null
}

const INSERT_DELIVERY = `
  insert into hook_deliveries (hook, flow_id, identity_id, payload, request_id)
  values ($1, $2::uuid, $3::uuid, $4::jsonb, $5)`

/** One statement on every hook call, so no drizzle. */
export async function insertDelivery(db: Db, delivery: NewDelivery): Promise<void> {
  await rawQuery(db, INSERT_DELIVERY, [
    delivery.hook,
    delivery.flowId,
    delivery.identityId,
    JSON.stringify(delivery.payload),
    delivery.requestId,
  ])
}

/** Deletes up to `batch` deliveries received more than `days` ago; answers how many went. */
export async function deleteDeliveriesOlderThan(
  database: Database,
  days: number,
  batch: number,
): Promise<number> {
  const { rows } = await database.query<{ id: string }>(
    `delete from hook_deliveries where id in (
       select id from hook_deliveries where received_at < now() - make_interval(days => $1)
       limit $2
     ) returning id`,
    [days, batch],
  )
  return rows.length
}

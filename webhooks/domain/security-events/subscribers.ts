import type { Database } from "../../../db/client"
import {
  deleteSubscriberRow,
  deliveryRow,
  deliveryRows,
  insertSubscriber,
  listSubscriberRows,
  replayRange,
  requeueDelivery,
  rotateSubscriberSecret,
  subscriberRow,
  updateSubscriberRow,
  type DeliveryRow,
  type DeliveryStatus,
  type SubscriberCounts,
  type SubscriberRow,
} from "../../data/event-subscribers"
import { AppError } from "../../errors"
import { checkSubscriberUrl, UnsafeUrlError, type UrlRules } from "../../outbound/addresses"
import { recordAdminAction } from "../admin-actions"
import type { AdminActor } from "../admin-users"
import { auditEventNames } from "../audit"
import { newSigningSecret } from "./signing"

/**
 * Event subscribers, as admins manage them: every change is a super admin's and is audited in
 * its own transaction. The signing secret is shown once, in the answer that creates or
 * rotates it, and never read back through the API.
 */

export interface SubscriberDeps {
  database: Database
  urlRules: UrlRules
}

const prefixes = new Set(auditEventNames.map((n) => n.split(".")[0]!))

/** `*`, an audit event name, or a family wildcard such as `auth.*`. */
export function isEventPattern(p: string): boolean {
  if (p === "*") return true
  if (p.endsWith(".*")) return prefixes.has(p.slice(0, -2))
  return (auditEventNames as readonly string[]).includes(p)
}

/** Whether an event name matches a pattern list (the same rule as the SQL trigger's). */
export function eventMatches(patterns: readonly string[], event: string): boolean {
  return patterns.some(
    (p) => p === event || p === "*" || (p.endsWith(".*") && event.startsWith(p.slice(0, -1))),
  )
}

export interface SubscriberView {
  id: string
  name: string
  url: string
  eventTypes: string[]
  enabled: boolean
  createdAt: Date
  updatedAt: Date
  /** While a rotation's previous secret still signs. */
  previousSecretExpiresAt: Date | null
  counts?: SubscriberCounts
}

function view(row: SubscriberRow, counts?: SubscriberCounts): SubscriberView {
  const rotating =
    row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    previousSecretExpiresAt: rotating ? row.previousSecretExpiresAt : null,
    ...(counts ? { counts } : {}),
  }
}

/** What the audit trail keeps of a URL: no query (a receiver may put a token there). */
function urlForTrail(url: string): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

function superAdminOnly(admin: AdminActor) {
  if (admin.role !== "super_admin") {
    throw new AppError("FORBIDDEN", "only a super admin manages event subscribers")
  }
}

async function safeUrl(deps: SubscriberDeps, url: string): Promise<string> {
  try {
    return (await checkSubscriberUrl(url, deps.urlRules)).toString()
  } catch (err) {
    if (err instanceof UnsafeUrlError)
      throw new AppError("BAD_REQUEST", `invalid body: url ${err.message}`)
    throw err
  }
}

export async function listSubscribers(database: Database): Promise<SubscriberView[]> {
  const rows = await listSubscriberRows(database.db)
  return rows.map((r) =>
    view(r, {
      pending: r.pending,
      dead: r.dead,
      delivered: r.delivered,
      lastDeliveredAt: r.lastDeliveredAt,
    }),
  )
}

export async function createSubscriber(
  deps: SubscriberDeps,
  admin: AdminActor,
  input: { name: string; url: string; eventTypes: string[]; enabled: boolean },
): Promise<{ subscriber: SubscriberView; secret: string }> {
  superAdminOnly(admin)
  const url = await safeUrl(deps, input.url)
  const secret = newSigningSecret()
  const row = await deps.database.db.transaction(async (tx) => {
    const created = await insertSubscriber(tx, { ...input, url, secret, createdBy: admin.id })
    await recordAdminAction(tx, admin, "admin.event_subscriber_created", {
      subscriber_id: created.id,
      name: created.name,
      url: urlForTrail(created.url),
      event_types: created.eventTypes,
      enabled: created.enabled,
    })
    return created
  })
  return { subscriber: view(row), secret }
}

export async function updateSubscriber(
  deps: SubscriberDeps,
  admin: AdminActor,
  id: string,
  patch: { name?: string; url?: string; eventTypes?: string[]; enabled?: boolean },
): Promise<SubscriberView> {
  superAdminOnly(admin)
  const values = {
    ...patch,
    ...(patch.url !== undefined ? { url: await safeUrl(deps, patch.url) } : {}),
  }
  const row = await deps.database.db.transaction(async (tx) => {
    const before = await subscriberRow(tx, id)
    if (!before) throw new AppError("NOT_FOUND", "no such event subscriber")
    const after = (await updateSubscriberRow(tx, id, values))!
    await recordAdminAction(tx, admin, "admin.event_subscriber_updated", {
      subscriber_id: id,
      changed: Object.keys(patch),
      before: {
        name: before.name,
        url: urlForTrail(before.url),
        event_types: before.eventTypes,
        enabled: before.enabled,
      },
      after: {
        name: after.name,
        url: urlForTrail(after.url),
        event_types: after.eventTypes,
        enabled: after.enabled,
      },
    })
    return after
  })
  return view(row)
}

export async function deleteSubscriber(
  deps: SubscriberDeps,
  admin: AdminActor,
  id: string,
): Promise<void> {
  superAdminOnly(admin)
  await deps.database.db.transaction(async (tx) => {
    const before = await subscriberRow(tx, id)
    if (!before) throw new AppError("NOT_FOUND", "no such event subscriber")
    await deleteSubscriberRow(tx, id)
    await recordAdminAction(tx, admin, "admin.event_subscriber_deleted", {
      subscriber_id: id,
      name: before.name,
      url: urlForTrail(before.url),
    })
  })
}

/**
 * A new signing secret; the old one keeps signing beside it (two signatures per message) for
 * `previousHours`, so receivers can switch over without losing a message. 0 ends it at once.
 */
export async function rotateSecret(
  deps: SubscriberDeps,
  admin: AdminActor,
  id: string,
  previousHours: number,
): Promise<{ subscriber: SubscriberView; secret: string }> {
  superAdminOnly(admin)
  const secret = newSigningSecret()
  const until = new Date(Date.now() + previousHours * 3_600_000)
  const row = await deps.database.db.transaction(async (tx) => {
    const after = await rotateSubscriberSecret(tx, id, secret, until)
    if (!after) throw new AppError("NOT_FOUND", "no such event subscriber")
    await recordAdminAction(tx, admin, "admin.event_subscriber_secret_rotated", {
      subscriber_id: id,
      previous_valid_until: until.toISOString(),
    })
    return after
  })
  return { subscriber: view(row), secret }
}

/** Re-sends every matching entry of [from, to) to one subscriber, with the ids they had. */
export async function replayEvents(
  deps: SubscriberDeps,
  admin: AdminActor,
  id: string,
  range: { from: Date; to: Date },
): Promise<{ queued: number }> {
  superAdminOnly(admin)
  if (range.to <= range.from)
    throw new AppError("BAD_REQUEST", "invalid body: to must be after from")
  return deps.database.db.transaction(async (tx) => {
    if (!(await subscriberRow(tx, id))) throw new AppError("NOT_FOUND", "no such event subscriber")
    const queued = await replayRange(tx, id, range.from, range.to)
    await recordAdminAction(tx, admin, "admin.event_replay_requested", {
      subscriber_id: id,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      queued,
    })
    return { queued }
  })
}

export interface DeliveryPage {
  items: DeliveryRow[]
  nextCursor: string | null
}

export async function listDeliveries(
  database: Database,
  id: string,
  opts: { status?: DeliveryStatus; cursor?: string; limit: number },
): Promise<DeliveryPage> {
  if (!(await subscriberRow(database.db, id)))
    throw new AppError("NOT_FOUND", "no such event subscriber")
  const before = opts.cursor !== undefined ? Number(opts.cursor) : undefined
  const items = await deliveryRows(database.db, {
    subscriberId: id,
    status: opts.status,
    beforeAuditId: before,
    limit: opts.limit + 1,
  })
  const more = items.length > opts.limit
  const page = items.slice(0, opts.limit)
  return { items: page, nextCursor: more ? String(page[page.length - 1]!.auditId) : null }
}

/** A failed delivery due again now with fresh attempts (audited). */
export async function retryDelivery(
  deps: SubscriberDeps,
  admin: AdminActor,
  deliveryId: string,
): Promise<DeliveryRow> {
  return deps.database.db.transaction(async (tx) => {
    const result = await requeueDelivery(tx, deliveryId)
    if (result === "not_found") throw new AppError("NOT_FOUND", "no such delivery")
    if (result === "not_failed") throw new AppError("CONFLICT", "this delivery has not failed")
    const row = (await deliveryRow(tx, deliveryId))!
    await recordAdminAction(tx, admin, "admin.event_delivery_retried", {
      delivery_id: deliveryId,
      subscriber_id: row.subscriberId,
      audit_event_id: row.auditEventId,
    })
    return row
  })
}

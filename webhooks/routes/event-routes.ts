import type { Request, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import { auditEventNames } from "../domain/audit"
import {
  createSubscriber,
  deleteSubscriber,
  isEventPattern,
  listDeliveries,
  listSubscribers,
  replayEvents,
  retryDelivery,
  rotateSecret,
  updateSubscriber,
  type SubscriberDeps,
} from "../domain/security-events/subscribers"
import { deliveryStatuses } from "../domain/security-events/types"
import { recordAdminLook } from "../domain/admin-actions"
import type { Config } from "../config"
import { parseNetworks, type UrlRules } from "../outbound/addresses"
import {
  eventDeliveryAnswer,
  eventDeliveryOf,
  eventDeliveryPageAnswer,
  eventReplayAnswer,
  eventSubscriberAnswer,
  eventSubscriberDeletedAnswer,
  eventSubscriberListAnswer,
  eventSubscriberOf,
  eventSubscriberSecretAnswer,
} from "./answers"
import { adminGuard, adminOf, parseOr400, reply } from "./edge"
import { deliveryId, subscriberId } from "./ids"

const name = z.string().trim().min(1).max(100)
const url = z.string().max(2000)
const eventTypes = z
  .array(
    z
      .string()
      .max(100)
      .refine(isEventPattern, "must be an audit event name, `*` or a family such as `auth.*`"),
  )
  .min(1)
  .max(100)
  .transform((list) => [...new Set(list)])
const createBody = z
  .object({ name, url, event_types: eventTypes, enabled: z.boolean().default(true) })
  .strict()
const updateBody = z
  .object({
    name: name.optional(),
    url: url.optional(),
    event_types: eventTypes.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "names nothing to change")
const rotateBody = z
  .object({ previous_valid_hours: z.number().int().min(0).max(720).default(24) })
  .strict()
const replayBody = z
  .object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .strict()
const deliveriesQuery = z
  .object({
    status: z.enum(deliveryStatuses).optional(),
    cursor: z
      .string()
      .max(20)
      .regex(/^\d{1,18}$/, "is not a valid cursor")
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()
const subscriberParams = z.object({ id: subscriberId })
const deliveryParams = z.object({ id: deliveryId })

/** Where subscriber URLs may point: https (http too outside production), public or allow-listed. */
export function subscriberUrlRules(config: Config): UrlRules {
  return {
    allowHttp: config.NODE_ENV !== "production",
    allowed: config.EVENT_SUBSCRIBER_ALLOWED_NETWORKS
      ? parseNetworks(config.EVENT_SUBSCRIBER_ALLOWED_NETWORKS)
      : null,
  }
}

/**
 * The admin API of outbound security events: subscribers (super admins change them, admins
 * look), their deliveries, a delivery's retry and a time range's replay. Every change is
 * audited; a look at the list is recorded like the console's other reads.
 */
export function registerEventRoutes(router: Router, deps: Deps): void {
  const { config, database } = deps
  const guard = adminGuard(deps)
  const subscriberDeps: SubscriberDeps = { database, urlRules: subscriberUrlRules(config) }
  const id = (req: Request) => parseOr400(subscriberParams, req.params, "path").id

  router.get("/api/admin/event-subscribers", ...guard, async (req, res) => {
    parseOr400(z.object({}).strict(), req.query, "query")
    await recordAdminLook(database.db, adminOf(req), "admin.viewed", {
      what: "event_subscribers",
    })
    reply(res, eventSubscriberListAnswer, {
      subscribers: (await listSubscribers(database)).map(eventSubscriberOf),
      event_types: [...auditEventNames],
    })
  })

  router.post("/api/admin/event-subscribers", ...guard, async (req, res) => {
    const body = parseOr400(createBody, req.body, "body")
    const made = await createSubscriber(subscriberDeps, adminOf(req), {
      name: body.name,
      url: body.url,
      eventTypes: body.event_types,
      enabled: body.enabled,
    })
    res.set("cache-control", "no-store")
    reply(
      res,
      eventSubscriberSecretAnswer,
      { subscriber: eventSubscriberOf(made.subscriber), secret: made.secret },
      201,
    )
  })

  router.put("/api/admin/event-subscribers/:id", ...guard, async (req, res) => {
    const subscriber = id(req)
    const body = parseOr400(updateBody, req.body, "body")
    const after = await updateSubscriber(subscriberDeps, adminOf(req), subscriber, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.url !== undefined ? { url: body.url } : {}),
      ...(body.event_types !== undefined ? { eventTypes: body.event_types } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    })
    reply(res, eventSubscriberAnswer, { subscriber: eventSubscriberOf(after) })
  })

  router.delete("/api/admin/event-subscribers/:id", ...guard, async (req, res) => {
    await deleteSubscriber(subscriberDeps, adminOf(req), id(req))
    reply(res, eventSubscriberDeletedAnswer, { deleted: true })
  })

  router.post("/api/admin/event-subscribers/:id/rotate-secret", ...guard, async (req, res) => {
    const subscriber = id(req)
    const body = parseOr400(rotateBody, req.body ?? {}, "body")
    const made = await rotateSecret(
      subscriberDeps,
      adminOf(req),
      subscriber,
      body.previous_valid_hours,
    )
    res.set("cache-control", "no-store")
    reply(res, eventSubscriberSecretAnswer, {
      subscriber: eventSubscriberOf(made.subscriber),
      secret: made.secret,
    })
  })

  router.post("/api/admin/event-subscribers/:id/replay", ...guard, async (req, res) => {
    const subscriber = id(req)
    const body = parseOr400(replayBody, req.body, "body")
    const result = await replayEvents(subscriberDeps, adminOf(req), subscriber, {
      from: new Date(body.from),
      to: new Date(body.to),
    })
    reply(res, eventReplayAnswer, result)
  })

  router.get("/api/admin/event-subscribers/:id/deliveries", ...guard, async (req, res) => {
    const subscriber = id(req)
    const q = parseOr400(deliveriesQuery, req.query, "query")
    const page = await listDeliveries(database, subscriber, q)
    reply(res, eventDeliveryPageAnswer, {
      items: page.items.map(eventDeliveryOf),
      next_cursor: page.nextCursor,
    })
  })

  router.post("/api/admin/event-deliveries/:id/retry", ...guard, async (req, res) => {
    const { id: delivery } = parseOr400(deliveryParams, req.params, "path")
    const row = await retryDelivery(subscriberDeps, adminOf(req), delivery)
    reply(res, eventDeliveryAnswer, { delivery: eventDeliveryOf(row) })
  })
}

import type { Database, Tx } from "../../../db/client"
import {
  insertSubscriber,
  subscriberByNameForUpdate,
  rotateSubscriberSecret,
  updateSubscriberRow,
} from "../../data/event-subscribers"
import { AppError } from "../../errors"
import { checkSubscriberUrl, UnsafeUrlError, type UrlRules } from "../../outbound/addresses"
import { appendAudit, type AuditEventName } from "../audit"
import { newSigningSecret } from "./signing"

/**
 * The subscriber `npm start` keeps for its local event receiver (scripts/event-sink.ts): every
 * event, to the receiver's loopback address, signed with a secret made afresh at each start and
 * handed to the receiver, so its page can check every signature. Development only: the route
 * that calls this exists only outside production (routes/internal-routes.ts).
 *
 * The operator's own doing, like `npm run admin`: audited with actor `system`, and the row's
 * `created_by` is the nil id (no person made it).
 */

export const DEV_RECEIVER_NAME = "Local receiver (dev)"
const SYSTEM_ID = "00000000-0000-0000-0000-000000000000"

export interface SystemActor {
  ip: string | null
  userAgent: string | null
  requestId: string
}

function audit(
  tx: Tx,
  actor: SystemActor,
  event: AuditEventName,
  details: Record<string, unknown>,
) {
  return appendAudit(tx, {
    event,
    actorType: "system",
    actorId: null,
    subjectId: null,
    ip: actor.ip,
    userAgent: actor.userAgent,
    requestId: actor.requestId,
    posture: {},
    details,
    dedupKey: `${event}:${actor.requestId}`,
  })
}

/**
 * Makes the dev receiver's subscriber exist, enabled, for `*`, at `url`, with a new signing
 * secret (the previous one stops signing at once): created the first time, brought back in
 * shape and rotated on later starts. Answers the secret, which is shown nowhere else.
 */
export async function ensureDevReceiver(
  deps: { database: Database; urlRules: UrlRules },
  actor: SystemActor,
  url: string,
): Promise<{ subscriberId: string; url: string; secret: string; created: boolean }> {
  let checked: string
  try {
    checked = (await checkSubscriberUrl(url, deps.urlRules)).toString()
  } catch (err) {
    if (err instanceof UnsafeUrlError)
      throw new AppError(
        "BAD_REQUEST",
        `the dev receiver's url ${err.message} (add it to EVENT_SUBSCRIBER_ALLOWED_NETWORKS)`,
      )
    throw err
  }
  const secret = newSigningSecret()
  const trailUrl = `${new URL(checked).origin}${new URL(checked).pathname}`
  return deps.database.db.transaction(async (tx) => {
    const existing = await subscriberByNameForUpdate(tx, DEV_RECEIVER_NAME)
    if (!existing) {
      const created = await insertSubscriber(tx, {
        name: DEV_RECEIVER_NAME,
        url: checked,
        eventTypes: ["*"],
        enabled: true,
        secret,
        createdBy: SYSTEM_ID,
      })
      await audit(tx, actor, "admin.event_subscriber_created", {
        subscriber_id: created.id,
        name: created.name,
        url: trailUrl,
        event_types: created.eventTypes,
        enabled: true,
      })
      return { subscriberId: created.id, url: checked, secret, created: true }
    }
    const wanted = { url: checked, eventTypes: ["*"], enabled: true }
    const changed = (["url", "eventTypes", "enabled"] as const).filter(
      (k) => JSON.stringify(existing[k]) !== JSON.stringify(wanted[k]),
    )
    if (changed.length > 0) {
      await updateSubscriberRow(tx, existing.id, wanted)
      await audit(tx, actor, "admin.event_subscriber_updated", {
        subscriber_id: existing.id,
        changed: changed.map((k) => (k === "eventTypes" ? "event_types" : k)),
        before: {
          url: `${new URL(existing.url).origin}${new URL(existing.url).pathname}`,
          event_types: existing.eventTypes,
          enabled: existing.enabled,
        },
        after: { url: trailUrl, event_types: ["*"], enabled: true },
      })
    }
    const now = new Date()
    await rotateSubscriberSecret(tx, existing.id, secret, now)
    await audit(tx, actor, "admin.event_subscriber_secret_rotated", {
      subscriber_id: existing.id,
      previous_valid_until: now.toISOString(),
    })
    return { subscriberId: existing.id, url: checked, secret, created: false }
  })
}

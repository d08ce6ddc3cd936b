import {
  claimLanes,
  laneDeliveries,
  markDelivered,
  markDeliveryFailed,
  releaseLane,
  type ClaimedLane,
  type LaneDelivery,
} from "../../data/event-subscribers"
import type { Poster } from "../../outbound/post"
import { backoffMs, createPollLoop, type OutboxSenderOptions } from "../poll-loop"
import { toCloudEvent } from "./cloud-event"
import { signedHeaders } from "./signing"

/** batchSize is the deliveries a lane claim takes, sent one after another. */
export interface EventSenderOptions extends OutboxSenderOptions {
  /** The HTTP sender with the address checks (webhooks/outbound/post.ts). */
  poster: Poster
  /** The CloudEvents `source`: the service's public URL. */
  source: string
  /** Subscribers served at once per replica; each has one request in flight at most. */
  lanes: number
  /** A receiver's deadline for one delivery. */
  timeoutMs: number
}

export interface EventSender {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** One claim-and-send round; how many lanes it claimed. */
  runOnce(): Promise<number>
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string }
  const text = [e.code, e.message].filter(Boolean).join(": ") || String(err)
  return text.slice(0, 300)
}

/**
 * Sends security events to their subscribers. A subscriber is a lane: one replica at a time
 * holds it (a lease on the subscriber row, claimed with SKIP LOCKED) and sends its deliveries
 * one after another in chain order, only once the entry is sealed (so the event carries its
 * chain hash, and the order is the chain's). A failure leaves the delivery at the head of
 * the lane, due again after a backoff with jitter: later events wait behind it, so a receiver
 * that was down gets everything in order; a delivery that is dead no longer holds the lane.
 *
 * A delivery is marked right after the receiver's 2xx: a process killed between the two
 * sends that one event again (same `webhook-id`) once its lease runs out; nothing is lost.
 * A slow receiver holds only its own lane (one request, with a deadline); lanes are served
 * side by side up to `lanes`.
 */
export function createEventSender(o: EventSenderOptions): EventSender {
  const baseMs = o.backoffBaseMs ?? 2000
  const maxMs = o.backoffMaxMs ?? 3_600_000
  const loop = createPollLoop({
    log: o.log,
    pollMs: o.pollMs,
    failure: "security event delivery round failed",
    round: async () => (await runOnce()) > 0,
  })

  async function sendOne(
    lane: ClaimedLane,
    d: LaneDelivery,
  ): Promise<"delivered" | "failed" | "dead"> {
    const event = toCloudEvent(d.entry, o.source)
    const body = JSON.stringify(event)
    const secrets = [lane.secret, ...(lane.previous_secret ? [lane.previous_secret] : [])]
    const headers = signedHeaders(secrets, event.id, Math.floor(Date.now() / 1000), body)
    let httpStatus: number | null = null
    let error: string
    try {
      const res = await o.poster.post(lane.url, headers, body, o.timeoutMs)
      if (res.status >= 200 && res.status < 300) {
        await markDelivered(o.database, d.id, res.status).catch(() =>
          markDelivered(o.database, d.id, res.status),
        )
        return "delivered"
      }
      httpStatus = res.status
      error = `HTTP ${res.status}${res.body ? `: ${res.body.replace(/\s+/g, " ").slice(0, 200)}` : ""}`
    } catch (err) {
      error = describe(err)
    }
    const attempts = d.attempts + 1
    const dead = attempts >= o.maxAttempts
    const delayMs = dead ? 0 : backoffMs(attempts, baseMs, maxMs)
    await markDeliveryFailed(o.database, {
      id: d.id,
      dead,
      attempts,
      lastError: error,
      httpStatus,
      delayMs,
      lease: lane.lease,
    }).catch((e: unknown) => o.log.warn({ err: e, id: d.id }, "marking a failed delivery failed"))
    const fields = { delivery: d.id, subscriber: lane.id, event: event.type, attempts, error }
    if (dead) o.log.error(fields, "security event delivery is dead after its last attempt")
    else o.log.warn({ ...fields, retryInMs: delayMs }, "security event delivery failed; will retry")
    return dead ? "dead" : "failed"
  }

  async function runLane(lane: ClaimedLane): Promise<void> {
    // No send starts after half the lease, so none outlives the claim (each has a deadline).
    const startBy = Date.now() + o.leaseSeconds * 500
    try {
      const list = await laneDeliveries(o.database, lane.id, o.batchSize)
      for (const d of list) {
        if (loop.stopping || !d.due || Date.now() > startBy) break
        const outcome = await sendOne(lane, d)
        if (outcome === "failed") break
      }
    } finally {
      await releaseLane(o.database, lane.id, lane.lease).catch(() => {})
    }
  }

  async function runOnce(): Promise<number> {
    const lanes = await claimLanes(o.database, o.leaseSeconds, o.lanes)
    await Promise.all(lanes.map(runLane))
    return lanes.length
  }

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    wake: () => loop.wake(),
    runOnce,
  }
}

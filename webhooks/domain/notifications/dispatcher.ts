import type { Transporter } from "nodemailer"
import { claimDue, markFailed, markSent, releaseClaims, type ClaimedRow } from "../../data/outbox"
import { backoffMs, createPollLoop, type OutboxSenderOptions } from "../poll-loop"
import { createSmtpTransport, describeSendError } from "./smtp"

export interface DispatcherOptions extends OutboxSenderOptions {
  smtpUrl: string
  /** The From header (MAIL_FROM). */
  from: string
  /** Sends in flight at once (also the SMTP pool's connection count). */
  concurrency: number
  /** Tests and benches: a transport of their own instead of one built from smtpUrl. */
  transport?: Transporter
}

export interface Dispatcher {
  start(): void
  /** Stops claiming, lets in-flight sends finish and be marked, hands back unsent claims. */
  stop(): Promise<void>
  /** Ends the idle wait now (e.g. right after a commit that queued mail). */
  wake(): void
  /** One claim-and-send round; how many rows it claimed. */
  runOnce(): Promise<number>
}

/**
 * Sends the notification outbox over SMTP. Each message goes out with the Message-ID chosen
 * when it was queued, the same on every attempt, and is marked sent right after the server's
 * 250: a process killed between the two resends that one message (same Message-ID) once its
 * lease runs out; nothing else is sent twice.
 */
export function createDispatcher(o: DispatcherOptions): Dispatcher {
  const transport = o.transport ?? createSmtpTransport(o.smtpUrl, { maxConnections: o.concurrency })
  const baseMs = o.backoffBaseMs ?? 5000
  const maxMs = o.backoffMaxMs ?? 3_600_000
  const loop = createPollLoop({
    log: o.log,
    pollMs: o.pollMs,
    failure: "notification dispatch round failed",
    round: async () => (await runOnce()) >= o.batchSize,
  })

  /**
   * Mail the server accepted whose row could not be marked sent (the database was away): it is
   * marked first thing in the next round, before its lease runs out and it would go out again.
   */
  const unmarked = new Set<string>()

  async function markUnmarked(): Promise<void> {
    for (const id of [...unmarked]) {
      await markSent(o.database, id)
      unmarked.delete(id)
    }
  }

  async function sendOne(row: ClaimedRow): Promise<void> {
    try {
      await transport.sendMail({
        from: o.from,
        to: row.recipient,
        subject: row.subject,
        text: row.body_text,
        ...(row.body_html ? { html: row.body_html } : {}),
        messageId: row.message_id,
        headers: {
          "X-Kratos-Guard-Notification": row.id,
          "Auto-Submitted": "auto-generated",
        },
      })
    } catch (err) {
      const attempts = row.attempts + 1
      const dead = attempts >= o.maxAttempts
      const lastError = describeSendError(err, o.smtpUrl)
      const delay = dead ? 0 : backoffMs(attempts, baseMs, maxMs)
      await markFailed(o.database, {
        id: row.id,
        dead,
        attempts,
        lastError,
        delayMs: delay,
        lease: row.lease,
      }).catch((e: unknown) => o.log.warn({ err: e, id: row.id }, "marking a failed send failed"))
      const fields = { id: row.id, kind: row.kind, attempts, error: lastError }
      if (dead) o.log.error(fields, "notification is dead after its last attempt")
      else o.log.warn({ ...fields, retryInMs: delay }, "notification send failed; will retry")
      return
    }
    // One retry now, then again each round; only a crash leaves the row `sending`, and it is
    // resent (same Message-ID) after its lease.
    await markSent(o.database, row.id)
      .catch(() => markSent(o.database, row.id))
      .catch((e: unknown) => {
        unmarked.add(row.id)
        o.log.warn({ err: e, id: row.id }, "marking a sent mail failed; will retry")
      })
  }

  async function runOnce(): Promise<number> {
    await markUnmarked()
    const rows = await claimDue(o.database, o.leaseSeconds, o.batchSize)
    if (rows.length === 0) return 0
    // Rows not started within half the lease go back unsent, so no send can outlive its
    // claim (SMTP timeouts are bounded too) and be picked up by a second sender meanwhile.
    const startBy = Date.now() + o.leaseSeconds * 500
    let next = 0
    const worker = async () => {
      while (!loop.stopping && next < rows.length && Date.now() < startBy)
        await sendOne(rows[next++]!)
    }
    await Promise.all(Array.from({ length: Math.min(o.concurrency, rows.length) }, worker))
    if (next < rows.length) {
      // Stopping or late: hand back what was claimed but not started.
      const unsent = rows.slice(next).map((r) => r.id)
      await releaseClaims(o.database, unsent).catch(() => {})
    }
    return rows.length
  }

  return {
    start: () => loop.start(),
    async stop() {
      await loop.stop()
      await markUnmarked().catch((e: unknown) =>
        o.log.warn({ err: e, unmarked: unmarked.size }, "sent mail left unmarked at shutdown"),
      )
      if (!o.transport) transport.close()
    },
    wake: () => loop.wake(),
    runOnce,
  }
}

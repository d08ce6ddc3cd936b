import type { Logger } from "pino"
import type { Database } from "../../db/client"

/** What both outboxes' senders are configured with. */
export interface OutboxSenderOptions {
  database: Database
  log: Logger
  /** Failed attempts before a row is `dead` (admins can retry it). */
  maxAttempts: number
  /** Idle poll interval when nothing was due. */
  pollMs: number
  /** Rows one claim takes. */
  batchSize: number
  /** How long a claim holds; after it a crashed sender's rows are picked up again. */
  leaseSeconds: number
  /** First retry delay; doubles per failed attempt (with jitter), capped at backoffMaxMs. */
  backoffBaseMs?: number
  backoffMaxMs?: number
}

/** Exponential backoff with equal jitter: base·2^(n-1), half of it random, capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(full / 2 + Math.random() * (full / 2))
}

export interface PollLoop {
  start(): void
  /** Stops after the round in flight; resolves once it has ended. */
  stop(): Promise<void>
  /** Ends the idle wait now (e.g. right after a commit that queued work). */
  wake(): void
  /** True from stop() until the next start(): rounds check it between sends. */
  readonly stopping: boolean
}

export interface PollLoopOptions {
  log: Logger
  /** Idle wait after a round that found nothing more to do. */
  pollMs: number
  /** Logged (at most once a minute) when a round throws, e.g. the database is away. */
  failure: string
  /** One round of work; true when more is due at once, so the loop goes on without waiting. */
  round: () => Promise<boolean>
}

/**
 * The loop both outboxes' senders run: a round, then an idle wait unless the round says more
 * is due, until stopped. A round that throws is logged now and then and the loop keeps polling,
 * so a database restart only delays the work.
 */
export function createPollLoop(o: PollLoopOptions): PollLoop {
  let stopping = false
  let loop: Promise<void> | null = null
  let wakeUp: (() => void) | null = null
  let lastError = 0

  const idle = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, o.pollMs)
      function done() {
        clearTimeout(timer)
        wakeUp = null
        resolve()
      }
      wakeUp = done
    })

  async function run(): Promise<void> {
    while (!stopping) {
      let more = false
      try {
        more = await o.round()
      } catch (err) {
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now()
          o.log.warn({ err }, o.failure)
        }
      }
      if (!stopping && !more) await idle()
    }
  }

  return {
    get stopping() {
      return stopping
    },
    start() {
      if (loop) return
      stopping = false
      loop = run()
    },
    async stop() {
      stopping = true
      wakeUp?.()
      await loop
      loop = null
    },
    wake() {
      wakeUp?.()
    },
  }
}

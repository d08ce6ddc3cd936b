import { createHash } from "node:crypto"
import type { RateLimiterPostgres } from "rate-limiter-flexible"
import type { Database } from "../../db/client"
import { counter } from "../data/rate-limits"

/**
 * Brute-force protection for login submissions (Kratos has none): per account and per IP,
 * counting failed attempts only, with an exponentially growing block per account.
 *
 * Counters live in the `rate_limits` table (rate-limiter-flexible's Postgres store), so every
 * replica sees the same counts. An attempt is counted BEFORE it is forwarded and refunded when
 * Kratos's answer shows it wasn't a failure: a burst of parallel guesses can't slip past the
 * limit while the first answers are still outstanding, and a crash mid-attempt errs on the side
 * of counting it.
 *
 * Per account (an identifier for password logins, an identity for 2FA submissions): the
 * `maxFailures`-th consecutive failure blocks the account for `blockBaseSeconds`; each further
 * block doubles, up to `blockMaxSeconds`. A success clears both the count and the backoff.
 * Failures are forgotten `failureWindowSeconds` after the first one of a series, the backoff
 * level a day after the last block. Per IP: at most `maxFailuresPerIp` failures in a fixed
 * window of `ipWindowSeconds`, whatever the account.
 */
export interface BruteForceLimits {
  maxFailures: number
  failureWindowSeconds: number
  blockBaseSeconds: number
  blockMaxSeconds: number
  maxFailuresPerIp: number
  ipWindowSeconds: number
}

/** Whose attempts are counted together, besides the IP. */
export type LoginSubject =
  { kind: "identifier"; value: string } | { kind: "identity"; value: string }

/** How Kratos answered an attempt: a wrong secret, a sign-in, or neither (expired flow, 5xx…). */
export type AttemptOutcome = "failure" | "success" | "neutral"

export interface LoginAttempt {
  settle(outcome: AttemptOutcome): Promise<void>
}

export type AttemptStart =
  | { allowed: true; attempt: LoginAttempt }
  | { allowed: false; retryAfterSeconds: number; scope: "account" | "ip" }

const BACKOFF_MEMORY_SECONDS = 24 * 3600

export class LoginThrottle {
  private readonly failures: RateLimiterPostgres
  private readonly backoff: RateLimiterPostgres
  private readonly perIp: RateLimiterPostgres

  constructor(
    database: Database,
    private readonly limits: BruteForceLimits,
  ) {
    this.failures = counter(database, {
      prefix: "login_fail",
      points: limits.maxFailures,
      seconds: limits.failureWindowSeconds,
      sweepsExpired: false,
    })
    this.backoff = counter(database, {
      prefix: "login_backoff",
      points: 1_000_000,
      seconds: BACKOFF_MEMORY_SECONDS,
      sweepsExpired: false,
    })
    // One of the three sweeps expired rows of the shared table every few minutes.
    this.perIp = counter(database, {
      prefix: "login_ip",
      points: limits.maxFailuresPerIp,
      seconds: limits.ipWindowSeconds,
      sweepsExpired: true,
    })
  }

  /** The block after the n-th series of failures: base × 2^(n-1), capped. */
  blockSeconds(n: number): number {
    const { blockBaseSeconds: base, blockMaxSeconds: max } = this.limits
    return Math.min(max, base * 2 ** Math.min(Math.max(n - 1, 0), 30))
  }

  /**
   * Counts an attempt before it is forwarded; refuses it (with how long to wait) when the IP or
   * the account is over its limit. Rejects when the store is unavailable (callers fail closed).
   */
  async begin(ip: string | undefined, subject: LoginSubject | null): Promise<AttemptStart> {
    const ipKey = ip ? `ip:${ip}` : null
    const accountKey = subject ? subjectKey(subject) : null

    if (ipKey) {
      const r = await this.perIp.penalty(ipKey, 1)
      if (r.consumedPoints > this.limits.maxFailuresPerIp) {
        await this.perIp.reward(ipKey, 1)
        return { allowed: false, retryAfterSeconds: seconds(r.msBeforeNext), scope: "ip" }
      }
    }

    let blockedByThisAttempt = false
    if (accountKey) {
      const r = await this.failures.penalty(accountKey, 1)
      if (r.consumedPoints > this.limits.maxFailures) {
        await this.failures.reward(accountKey, 1)
        if (ipKey) await this.perIp.reward(ipKey, 1)
        return {
          allowed: false,
          retryAfterSeconds: Math.min(seconds(r.msBeforeNext), this.limits.blockMaxSeconds),
          scope: "account",
        }
      }
      if (r.consumedPoints === this.limits.maxFailures) {
        // The last permitted attempt: block now, lift it if Kratos lets the person in.
        const level = await this.backoff.penalty(accountKey, 1)
        await this.failures.block(accountKey, this.blockSeconds(level.consumedPoints))
        blockedByThisAttempt = true
      }
    }

    return {
      allowed: true,
      attempt: {
        settle: async (outcome) => {
          if (outcome === "failure") return
          if (ipKey) await this.perIp.reward(ipKey, 1)
          if (!accountKey) return
          if (outcome === "success") {
            await this.failures.delete(accountKey)
            await this.backoff.delete(accountKey)
          } else if (blockedByThisAttempt) {
            await this.failures.set(
              accountKey,
              this.limits.maxFailures - 1,
              this.limits.failureWindowSeconds,
            )
            await this.backoff.reward(accountKey, 1)
          } else {
            await this.failures.reward(accountKey, 1)
          }
        },
      },
    }
  }
}

/** Identifiers are stored hashed: the table needs no email addresses, and keys stay short. */
function subjectKey(subject: LoginSubject): string {
  if (subject.kind === "identity") return `identity:${subject.value}`
  const normalised = subject.value.trim().toLowerCase()
  return `identifier:${createHash("sha256").update(normalised).digest("hex")}`
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

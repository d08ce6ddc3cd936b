import { createHash } from "node:crypto"
import { cookieHeader, type KratosCaller } from "../kratos/caller"
import type { CredentialSummary } from "../kratos/identity"
import type { Session } from "../kratos/types"

/**
 * How old a Kratos answer the gate (`GET /api/auth/gate`) may use: a session revoked in Kratos,
 * or a second factor added or removed there, is seen by the gate at most this long after the
 * change completed. An entry expires GATE_CACHE_MS after its read was *sent*, so a read that was
 * under way during the change expires no later than one made just before it.
 *
 * Only Kratos's answers are kept (whoami, and the admin read of the credentials): the
 * service's own record (role, forced password change, deactivation) is read from the database
 * on every gate call, so a change to it is seen at once on every replica. The service's own
 * Kratos-side writes (settings and login hooks, session revocations, 2FA resets, every write
 * under withKratosWrite) forget the identity's entries at once on the replica that makes them
 * and keep it out of the cache for CHANGING_MS, the time Kratos may take to persist what a
 * hook answered.
 */
export const GATE_CACHE_MS = 1000
export const CHANGING_MS = 3000
/** Entries kept at most, per kind (the oldest go first). */
const MAX_ENTRIES = 10_000

interface Entry<V> {
  value: V
  identityId: string
  expiresAt: number
}

/** Answers read at most `ttlMs` ago, one read at a time per key (callers share it). */
class AnswerCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  /** The keys of each identity's entries. */
  private readonly byIdentity = new Map<string, Set<string>>()
  private readonly loading = new Map<
    string,
    { read: Promise<V | null>; generation: number; sentAt: number }
  >()

  constructor(
    private readonly ttlMs: number,
    private readonly shared: Shared,
  ) {}

  async get(
    key: string,
    load: () => Promise<V | null>,
    identityOf: (v: V) => string | null,
  ): Promise<V | null> {
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && hit.expiresAt > now && !this.shared.isChanging(hit.identityId, now)) {
      return hit.value
    }
    if (hit) this.drop(key)
    // Join a read under way only if it began after the last of our own writes and recently
    // enough to be kept: an answer sent for before a revocation is not served after it.
    const running = this.loading.get(key)
    if (
      running &&
      running.generation === this.shared.generation &&
      now - running.sentAt < this.ttlMs
    ) {
      return running.read
    }
    const sentAt = now
    const generation = this.shared.generation
    const entry = { read: load(), generation, sentAt }
    entry.read
      .finally(() => {
        if (this.loading.get(key) === entry) this.loading.delete(key)
      })
      .catch(() => {})
    this.loading.set(key, entry)
    const read = entry.read
    const value = await read
    const identityId = value === null ? null : identityOf(value)
    // Not kept: a refusal, an answer read before one of our own writes finished (it may be
    // older than that write), or one about an identity a hook is changing.
    if (
      value !== null &&
      identityId &&
      generation === this.shared.generation &&
      !this.shared.isChanging(identityId, Date.now())
    ) {
      if (this.entries.has(key)) this.drop(key)
      if (this.entries.size >= MAX_ENTRIES) this.drop(this.entries.keys().next().value!)
      this.entries.set(key, { value, identityId, expiresAt: sentAt + this.ttlMs })
      let keys = this.byIdentity.get(identityId)
      if (!keys) this.byIdentity.set(identityId, (keys = new Set()))
      keys.add(key)
    }
    return value
  }

  private drop(key: string): void {
    const e = this.entries.get(key)
    if (!e) return
    this.entries.delete(key)
    const keys = this.byIdentity.get(e.identityId)
    keys?.delete(key)
    if (keys?.size === 0) this.byIdentity.delete(e.identityId)
  }

  forget(identityId: string): void {
    for (const key of this.byIdentity.get(identityId) ?? []) this.entries.delete(key)
    this.byIdentity.delete(identityId)
  }

  clear(): void {
    this.entries.clear()
    this.byIdentity.clear()
  }
}

class Shared {
  generation = 0
  private readonly changing = new Map<string, number>()

  isChanging(identityId: string, now: number): boolean {
    const until = this.changing.get(identityId)
    if (until === undefined) return false
    if (until > now) return true
    this.changing.delete(identityId)
    return false
  }

  markChanging(identityId: string, now: number): void {
    if (this.changing.size >= MAX_ENTRIES) {
      this.changing.delete(this.changing.keys().next().value!)
    }
    this.changing.set(identityId, now + CHANGING_MS)
    this.generation++
  }
}

const shared = new Shared()
const sessions = new AnswerCache<Session>(GATE_CACHE_MS, shared)
const summaries = new AnswerCache<CredentialSummary>(GATE_CACHE_MS, shared)

/** The key of a caller's credentials, as they are sent to Kratos (never kept in the clear). */
export function credentialKey(caller: KratosCaller): string {
  return createHash("sha256")
    .update(cookieHeader(caller.cookies) ?? "")
    .update("\0")
    .update(caller.token ?? "")
    .digest("base64url")
}

/** Kratos public as the gate reads it: whoami answers at most GATE_CACHE_MS old. */
export function withCachedWhoami<
  K extends { whoami(caller: KratosCaller): Promise<Session | null> },
>(kratosPublic: K): K {
  return {
    ...kratosPublic,
    whoami: (caller: KratosCaller) =>
      gateCache.session(credentialKey(caller), () => kratosPublic.whoami(caller)),
  }
}

export const gateCache = {
  /** The caller's session (null: no session), read from Kratos at most GATE_CACHE_MS ago. */
  session(key: string, load: () => Promise<Session | null>): Promise<Session | null> {
    return sessions.get(key, load, (s) => s.identity?.id ?? null)
  },
  /** The identity's credential summary, read from Kratos at most GATE_CACHE_MS ago. */
  summary(
    identityId: string,
    load: () => Promise<CredentialSummary | null>,
  ): Promise<CredentialSummary | null> {
    return summaries.get(identityId, load, (s) => s.identityId)
  },
  /**
   * The service is changing this identity in Kratos (or Kratos is persisting what a hook of it
   * answered): its answers are forgotten and not kept for CHANGING_MS.
   */
  changing(identityId: string): void {
    shared.markChanging(identityId, Date.now())
    sessions.forget(identityId)
    summaries.forget(identityId)
  },
  /** Tests: forget everything. */
  clear(): void {
    sessions.clear()
    summaries.clear()
  },
}

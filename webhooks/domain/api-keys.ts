import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import type { Database, Db, Tx } from "../../db/client"
import {
  apiKeyCounter,
  countActiveKeys,
  findApiKey,
  findByKeyId,
  insertApiKey,
  listApiKeys,
  lockOwnerKeys,
  ownerForShare,
  revokeAllApiKeys,
  revokeAllApiKeysStatement,
  revokeApiKey,
  touchApiKey,
  unrevokedKeyIds,
  type ApiKeyRow,
  type Statement,
} from "../data/api-keys"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import type { Session } from "../kratos/types"
import { roles, type Role } from "../policy/roles"
import { appendAudit, type AuditEntryInput, type AuditEventName } from "./audit"
import { authorizedSummary } from "./authorization"
import type { GateDecision, RequiredAal } from "./gate"
import { evaluateGate, type SessionGateDeps } from "./session-gate"

/**
 * Device API keys: a long-lived credential for kiosks, scripts and devices that can't sign in
 * interactively, which the gate accepts as `Authorization: Bearer kg_<key id>_<secret>`.
 *
 * - The key id (16 hex digits) is public: it finds the row. The secret (64 hex digits, 256 bits
 *   from the CSPRNG) is shown once and kept only as its SHA-256, compared in constant time. No
 *   slow hash (bcrypt, scrypt) is needed: those make guessing a *low-entropy* secret from its
 *   hash expensive, and no number of guesses finds a 256-bit random secret from its SHA-256,
 *   whereas a slow hash would cost every gate call a few hundred milliseconds of CPU.
 * - A key's scope is at most its owner's role when it is created; the gate reports the lower of
 *   the scope and the owner's role at the time of the call, and decides everything else (forced
 *   password change, 2FA enrolment deadline, deactivation) on the owner, as for their session.
 * - The AAL of a key's call is `api_key`; a route that asks for AAL2 refuses every key.
 * - A person's keys are all revoked when their password changes, an admin resets their 2FA or
 *   deactivates them; the owner or an admin can revoke any of them. Each step is audited.
 */

export const API_KEY_PREFIX = "kg_"
const KEY_FORMAT = /^kg_([0-9a-f]{16})_([0-9a-f]{64})$/

export interface ApiKeyLimits {
  maxPerAdmin: number
  maxPerMember: number
  requestsPerMinute: number
  maxFailuresPerIp: number
  failureWindowSeconds: number
}

export interface ApiKeyDeps {
  database: Database
  kratos: KratosAdmin
  limits: ApiKeyLimits
}

/** A key's metadata as listed: never the secret, never its hash. */
export interface ApiKeyView {
  id: string
  key_id: string
  label: string
  scope: Role
  created_at: string
  created_by: string
  expires_at: string | null
  last_used_at: string | null
  last_used_ip: string | null
  revoked_at: string | null
  revoked_reason: string | null
  status: "active" | "expired" | "revoked"
}

/** Who acts: the owner (`user`) or an admin for them. */
export interface KeyActor {
  type: "user" | "admin"
  id: string
  role?: Role | null
  ip: string | null
  userAgent: string | null
  requestId: string
}

const rank = (r: string) => roles.indexOf(r as Role)
const iso = (d: Date | null) => d?.toISOString() ?? null

export function viewOf(row: ApiKeyRow, now = new Date()): ApiKeyView {
  const status = row.revokedAt
    ? "revoked"
    : row.expiresAt && row.expiresAt.getTime() <= now.getTime()
      ? "expired"
      : "active"
  return {
    id: row.id,
    key_id: row.keyId,
    label: row.label,
    scope: row.scope as Role,
    created_at: row.createdAt.toISOString(),
    created_by: row.createdBy,
    expires_at: iso(row.expiresAt),
    last_used_at: iso(row.lastUsedAt),
    last_used_ip: row.lastUsedIp,
    revoked_at: iso(row.revokedAt),
    revoked_reason: row.revokedReason,
    status,
  }
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** A new key: its public id, the whole key to show once, and the hash to keep. */
export function generateApiKey(): { keyId: string; key: string; secretHash: string } {
  const keyId = randomBytes(8).toString("hex")
  const secret = randomBytes(32).toString("hex")
  return {
    keyId,
    key: `${API_KEY_PREFIX}${keyId}_${secret}`,
    secretHash: sha256(secret).toString("hex"),
  }
}

/** The key id and secret of a well-formed key, or null. */
export function parseApiKey(text: string): { keyId: string; secret: string } | null {
  const m = KEY_FORMAT.exec(text)
  return m ? { keyId: m[1]!, secret: m[2]! } : null
}

/** The most active keys a person of this role may hold. */
export function keyCap(limits: ApiKeyLimits, role: Role): number {
  return role === "member" ? limits.maxPerMember : limits.maxPerAdmin
}

function auditKey(
  tx: Tx,
  actor: KeyActor,
  event: AuditEventName,
  subjectId: string,
  details: Record<string, unknown>,
  dedupKey: string,
) {
  return appendAudit(tx, {
    event,
    actorType: actor.type,
    actorId: actor.id,
    subjectId,
    ip: actor.ip,
    userAgent: actor.userAgent,
    requestId: actor.requestId,
    posture: {},
    details,
    dedupKey,
  })
}

/**
 * A person's keys, newest first, as metadata, with how many may be active at once for their
 * role. An admin's look is audited (`admin.viewed`, as their other reads of a person's record).
 */
export async function listKeys(
  d: ApiKeyDeps,
  ownerId: string,
  admin: KeyActor | null = null,
): Promise<{ api_keys: ApiKeyView[]; max_active: number; role: Role }> {
  const found = await authorizedSummary(d, ownerId)
  if (!found) throw new AppError("NOT_FOUND", "no such user")
  if (admin) {
    await d.database.db.transaction((tx) =>
      auditKey(
        tx,
        admin,
        "admin.viewed",
        ownerId,
        { what: "api_keys" },
        `viewed:${admin.requestId}`,
      ),
    )
  }
  const now = new Date()
  const rows = await listApiKeys(d.database.db, ownerId)
  const role = found.summary.role as Role
  return { api_keys: rows.map((r) => viewOf(r, now)), max_active: keyCap(d.limits, role), role }
}

/**
 * Creates a key for `ownerId` (by the owner, or by an admin for them): the scope at most the
 * owner's role, within the cap of active keys for that role, audited. Answers the whole key,
 * which is never stored and can't be shown again.
 */
export async function createKey(
  d: ApiKeyDeps,
  actor: KeyActor,
  ownerId: string,
  input: { label: string; scope?: Role; expiresAt?: Date | null },
  /** When the acting session last signed in, and how recent Kratos wants a sign-in to be. */
  signIn: { at: Date | null; maxAgeMs: number },
): Promise<{ key: string; view: ApiKeyView; cap: number }> {
  // A key outlives the session that made it (for oneself, or an admin's for someone else): like
  // Kratos before a security change, ask for a recent sign-in, so a session left open on a
  // shared computer can't mint one.
  if (!(signIn.at && Date.now() - signIn.at.getTime() <= signIn.maxAgeMs)) {
    throw new AppError("FORBIDDEN", "sign in again to create a key", {
      reason: "reauthentication_required",
    })
  }
  // Seeds the service's record for a person it hasn't seen yet; 404 for no one.
  const found = await authorizedSummary(d, ownerId)
  if (!found) throw new AppError("NOT_FOUND", "no such user")
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError("BAD_REQUEST", "invalid body: expires_at must be in the future")
  }
  const generated = generateApiKey()
  return d.database.db.transaction(async (tx) => {
    // The record as of now, held until commit: a deactivation (which revokes every key in its
    // own transaction) waits for this one, or this one sees it.
    const owner = await ownerForShare(tx, ownerId)
    if (!owner || owner.state !== "active") {
      throw new AppError("FORBIDDEN", "this account is deactivated", { reason: "deactivated" })
    }
    const role = owner.role as Role
    // As for the admin's other actions on a person: admins' keys are a super admin's to make.
    if (actor.type === "admin" && role !== "member" && actor.role !== "super_admin") {
      throw new AppError("FORBIDDEN", "only a super admin can do this to an admin")
    }
    const scope = input.scope ?? role
    if (rank(scope) > rank(role)) {
      throw new AppError("FORBIDDEN", "a key's scope can't be above its owner's role", {
        reason: "scope_above_role",
      })
    }
    const cap = keyCap(d.limits, role)
    await lockOwnerKeys(tx, ownerId)
    if ((await countActiveKeys(tx, ownerId)) >= cap) {
      throw new AppError(
        "CONFLICT",
        `at most ${cap} active API ${cap === 1 ? "key" : "keys"}: revoke one first`,
        { reason: "api_key_limit", limit: cap },
      )
    }
    const row = await insertApiKey(tx, {
      keyId: generated.keyId,
      identityId: ownerId,
      label: input.label,
      scope,
      secretHash: generated.secretHash,
      createdBy: actor.id,
      expiresAt: input.expiresAt ?? null,
    })
    await auditKey(
      tx,
      actor,
      actor.type === "admin" ? "admin.api_key_created" : "auth.api_key_created",
      ownerId,
      { key_id: row.keyId, label: row.label, scope, expires_at: iso(row.expiresAt) },
      `api_key_created:${row.id}`,
    )
    return { key: generated.key, view: viewOf(row), cap }
  })
}

/**
 * Revokes one of `ownerId`'s keys (by the owner or an admin), audited once: revoking a key that
 * is already revoked answers it as it is. 404 when it is not this person's key.
 */
export async function revokeKey(
  d: Pick<ApiKeyDeps, "database">,
  actor: KeyActor,
  ownerId: string,
  id: string,
): Promise<ApiKeyView> {
  return d.database.db.transaction(async (tx) => {
    const reason = actor.type === "admin" ? "admin" : "owner"
    const row = await revokeApiKey(tx, { id, identityId: ownerId, reason, by: actor.id })
    if (!row) {
      const existing = await findApiKey(tx, id, ownerId)
      if (!existing) throw new AppError("NOT_FOUND", "no such API key")
      return viewOf(existing)
    }
    await auditKey(
      tx,
      actor,
      actor.type === "admin" ? "admin.api_key_revoked" : "auth.api_key_revoked",
      ownerId,
      { key_id: row.keyId, label: row.label },
      `api_key_revoked:${row.id}`,
    )
    return viewOf(row)
  })
}

export type CascadeReason = "password_changed" | "2fa_reset" | "deactivated"

/**
 * Revokes every key of a person because of `reason`, in `tx` (the transaction of the change
 * that causes it), with one audit entry naming the keys; nothing when they had none.
 */
export async function revokeAllKeysIn(
  tx: Tx,
  actor: KeyActor,
  identityId: string,
  reason: CascadeReason,
): Promise<number> {
  const rows = await revokeAllApiKeys(tx, { identityId, reason, by: actor.id })
  if (rows.length === 0) return 0
  await auditKey(
    tx,
    actor,
    "auth.api_keys_revoked",
    identityId,
    { reason, key_ids: rows.map((r) => r.keyId) },
    `api_keys_revoked:${reason}:${actor.requestId}:${identityId}`,
  )
  return rows.length
}

/**
 * What revokes a person's keys after a password change, for the change's own transaction (the
 * hook's `trailWrite`): the revocation statement and its audit entry. Null when they have no
 * key to revoke.
 */
export async function keyRevocationFor(
  db: Db,
  r: {
    identityId: string
    flowId: string
    ip: string | null
    userAgent: string | null
    requestId: string | null
  },
): Promise<{ revoke: Statement; entry: AuditEntryInput } | null> {
  const keys = await unrevokedKeyIds(db, r.identityId)
  if (keys.length === 0) return null
  return {
    revoke: revokeAllApiKeysStatement({
      identityId: r.identityId,
      reason: "password_changed",
      by: r.identityId,
    }),
    entry: {
      event: "auth.api_keys_revoked",
      actorType: "user",
      actorId: r.identityId,
      subjectId: r.identityId,
      ip: r.ip,
      userAgent: r.userAgent,
      flowId: r.flowId,
      requestId: r.requestId,
      posture: {},
      details: { reason: "password_changed", key_ids: keys.map((k) => k.keyId) },
      dedupKey: `api_keys_revoked:password_changed:${r.flowId}`,
    },
  }
}

// --- the gate --------------------------------------------------------------------------------

/** How a call with a key ended, for the route to answer. */
export type KeyGateOutcome =
  { kind: "decision"; decision: GateDecision; keyId: string } | { kind: "refused"; error: AppError }

const DUMMY_HASH = sha256("kratos-guard: no such key")

/**
 * The gate for a call that came with an API key: throttled per client IP (refused attempts)
 * and per key (calls per minute), the key checked (constant-time compare of the secret's hash;
 * the same work when the id is unknown), then the owner's gate decision with the AAL `api_key`
 * and the role the lower of the key's scope and the owner's.
 */
export class ApiKeyGate {
  private readonly failures
  private readonly calls

  constructor(
    private readonly d: ApiKeyDeps & SessionGateDeps,
    private readonly limits: ApiKeyLimits,
  ) {
    this.failures = apiKeyCounter(d.database, {
      prefix: "api_key_fail_ip",
      points: limits.maxFailuresPerIp,
      seconds: limits.failureWindowSeconds,
    })
    this.calls = apiKeyCounter(d.database, {
      prefix: "api_key_calls",
      points: limits.requestsPerMinute,
      seconds: 60,
    })
  }

  async decide(input: {
    /** Every `Authorization` value of the request that names our scheme and prefix. */
    presented: string[]
    /** The request also carries a Kratos session (token or session cookie). */
    withSession: boolean
    ip: string | null
    requiredAal: RequiredAal | null
    returnTo: string | null
  }): Promise<KeyGateOutcome> {
    const ipKey = input.ip ? `ip:${input.ip}` : "ip:unknown"
    const blocked = await this.failures.get(ipKey)
    if (blocked && blocked.consumedPoints >= this.limits.maxFailuresPerIp) {
      return refused(tooMany(blocked.msBeforeNext))
    }
    const fail = async (error: AppError): Promise<KeyGateOutcome> => {
      await this.failures.penalty(ipKey, 1)
      return refused(error)
    }
    if (input.presented.length !== 1) {
      return fail(invalid("send one Authorization header"))
    }
    if (input.withSession) {
      return fail(invalid("send either an API key or a session, not both"))
    }
    const parsed = parseApiKey(input.presented[0]!)
    const row = parsed ? await findByKeyId(this.d.database.db, parsed.keyId) : null
    // The same compare whether or not the id exists.
    const given = sha256(parsed?.secret ?? "")
    const stored = row ? Buffer.from(row.secretHash, "hex") : DUMMY_HASH
    const matches = stored.length === given.length && timingSafeEqual(stored, given)
    if (!parsed || !row || !matches) return fail(invalid())
    if (row.revokedAt) {
      return refused(unauthorized("this API key was revoked", "api_key_revoked"))
    }
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return refused(unauthorized("this API key has expired", "api_key_expired"))
    }
    const used = await this.calls.penalty(`key:${row.id}`, 1)
    if (used.consumedPoints > this.limits.requestsPerMinute) {
      return refused(tooMany(used.msBeforeNext))
    }
    const owner = { identity: { id: row.identityId } } as Session
    const decision = await evaluateGate(this.d, owner, {
      returnTo: input.returnTo,
      rotation: true,
      cachedKratos: true,
      requiredAal: input.requiredAal,
      viaApiKey: true,
    })
    if (!decision) {
      return refused(unauthorized("this API key's owner can't sign in", "api_key_revoked"))
    }
    await touchApiKey(this.d.database.db, row.id, input.ip)
    // The key stands for no more than its scope, and no more than its owner is now.
    const role = rank(row.scope) < rank(decision.role) ? row.scope : decision.role
    return { kind: "decision", decision: { ...decision, role }, keyId: row.keyId }
  }
}

const refused = (error: AppError): KeyGateOutcome => ({ kind: "refused", error })

function unauthorized(message: string, reason: string) {
  return new AppError("UNAUTHORIZED", message, { reason })
}

function invalid(message = "this API key is not valid") {
  return unauthorized(message, "api_key_invalid")
}

function tooMany(ms: number) {
  return new AppError("TOO_MANY_REQUESTS", "too many attempts with API keys; try again later", {
    reason: "too_many_attempts",
    retry_after: Math.max(1, Math.ceil(ms / 1000)),
  })
}

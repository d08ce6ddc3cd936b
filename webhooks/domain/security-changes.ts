import { and, eq, lt } from "drizzle-orm"
import type { Logger } from "pino"
import type {
  LoginHookBody,
  RegistrationHookBody,
  SettingsHookBody,
  SettingsMethod,
} from "../../kratos/hooks/bodies"
import type { Database } from "../../db/client"
import { atomic, rawQuery, type Statement } from "../../db/raw"
import { pendingChanges } from "../../db/schema"
import type { KratosAdmin } from "../kratos/admin"
import { fingerprint, posture, type CredentialSummary } from "../kratos/identity"
import { appendStatements, checkChainLock } from "./audit"
import {
  authorizationOf,
  authzFromJson,
  authzRefusals,
  insertAuthorizationStatement,
  type Authorization,
  beginSettingsWrite,
  endSettingsWrite,
  expectedKratos,
  kratosSideOf,
  newRevision,
  recheck,
  seedFrom,
  withAuthorization,
} from "./authorization"
import { changeEvents } from "./change-events"
import { deviceFingerprint } from "./device"
import { notificationsFor } from "./notifications/enqueue"
import { enqueueIfAuditedStatement } from "./outbox"
import { getOrgPolicyCached } from "./org-policy"
import { latestIntent } from "./settings-intents"
import { checkSettingsChange, type Refusal, type SettingsIntent } from "./settings-rules"

export interface ChangeDeps {
  database: Database
  kratos: KratosAdmin
  log: Logger
  maxPasswordChangesPerHour: number
  /** For the Security-page link in user notifications (optional: mails read fine without). */
  publicUrl?: string
}

/** How long an intent noted by the proxy belongs to its flow: Kratos resumes a change paused for re-login up to 15 minutes later. */
const INTENT_WINDOW_MS = 15 * 60_000

/** What the pre-persist hook answers Kratos: a refusal, or the identity values to persist. */
export type PrePersistAnswer =
  { refusal: Refusal } | { identity: ReturnType<typeof expectedKratos> }

/**
 * Pre-persist: decides whether Kratos may persist a settings change and, if so, records it as
 * pending and answers the service's record of role, manager, flags and state, which Kratos
 * then persists with the change (it would otherwise write back the copy it loaded when the
 * request began). Reads the current credentials from the admin API (the webhook never sees
 * them), so a failure there throws and the change fails closed.
 */
export async function beforeSettingsChange(
  d: ChangeDeps,
  method: SettingsMethod,
  body: SettingsHookBody,
  requestId: string,
): Promise<PrePersistAnswer> {
  // Before the lock: its transaction holds a pool connection and must not wait for another.
  const [policy, asked] = await Promise.all([
    getOrgPolicyCached(d.database.db),
    askedIntent(d, method, body),
  ])
  // Under the identity's lock: the decision, then the lease and the pending record in the
  // same transaction (a refusal writes nothing).
  const write = await beginSettingsWrite(
    d,
    body,
    async ({ authz, summary, recentPasswordChanges }) => {
      const before = withAuthorization(summary, authz)
      const intent = classify(method, body, before, asked)
      const refusal = checkSettingsChange({
        method,
        intent,
        before,
        policy,
        newTraits: body.identity.traits,
        passwordChangesLastHour: recentPasswordChanges,
        maxPasswordChangesPerHour: d.maxPasswordChangesPerHour,
      })
      if (refusal) return { refusal }
      const pending = [
        preKey(body, method, before),
        body.flow_id,
        method,
        body.identity_id,
        intent.kind,
        JSON.stringify(before),
        body.client.ip,
        body.client.user_agent,
        requestId,
      ]
      return { value: null, write: [INSERT_PENDING, pending] as const }
    },
    method === "password" ? { passwordWindowMs: 60 * 60_000 } : {},
  )
  if (write.kind === "gone") {
    return { refusal: { id: 4100100, text: "This account no longer exists.", pointer: "#/" } }
  }
  if (write.kind === "refused") {
    d.log.info(
      { identityId: body.identity_id, method, refusal: write.refusal.id },
      "settings change refused",
    )
    return { refusal: write.refusal }
  }
  // With a new revision: a submit that loaded the identity before this one persists is refused.
  return { identity: expectedKratos(write.authz, kratosSideOf(write.summary), newRevision()) }
}

const INSERT_PENDING = `
  insert into pending_changes
    (change_key, flow_id, method, identity_id, intent, before, ip, user_agent, request_id)
  values ($1, $2::uuid, $3, $4::uuid, $5, $6::jsonb, $7, $8, $9)
  on conflict do nothing`

/**
 * Post-persist: Kratos has stored the change. Writes its audit entries (deduplicated, so a
 * retried delivery adds nothing) and marks the pending record confirmed.
 */
export async function afterSettingsChange(
  d: ChangeDeps,
  method: SettingsMethod,
  body: SettingsHookBody,
  requestId: string,
): Promise<void> {
  const db = d.database.db
  // The pending record and the service's record in one statement, beside the Kratos read.
  const [[read], after] = await Promise.all([
    rawQuery<{ pending: PendingJson | null; authz: Record<string, unknown> | null }>(
      db,
      POST_PERSIST_READ,
      [body.flow_id, method, body.identity_id],
    ),
    d.kratos.summary(body.identity_id),
  ])
  const release = () => endSettingsWrite(db, body.identity_id, body.flow_id)
  if (!after) {
    await release()
    return
  }
  const pending = read?.pending ?? null
  const before = pending ? (pending.before as CredentialSummary) : null
  let now: Authorization | null
  try {
    const authz = read?.authz
      ? authzFromJson(read.authz)
      : await authorizationOf(d, body.identity_id, after)
    await recordChange(d, {
      method,
      before,
      after: authz ? withAuthorization(after, authz) : after,
      traits: { previous: body.previous_traits, current: body.identity.traits },
      flowId: body.flow_id,
      ip: body.client.ip,
      userAgent: body.client.user_agent,
      requestId,
      pendingId: pending ? Number(pending.id) : null,
    })
  } finally {
    // After the audit entries: what this write did is in the trail before any other write of
    // this identity (a 2FA reset waiting for it, the next submit) can be.
    now = await release()
  }
  // Kratos wrote what the pre-persist hook answered; a change made to the record since then
  // (its own sync waits for this release) or a write that slipped past is applied here.
  await recheck(
    d,
    body.identity_id,
    after,
    { source: "settings", flowId: body.flow_id, requestId },
    now,
  ).catch((err: unknown) =>
    d.log.warn({ err, identityId: body.identity_id }, "settings: Kratos not brought in step"),
  )
}

interface PendingJson {
  id: number | string
  before: unknown
}

const POST_PERSIST_READ = `
  select (select json_build_object('id', p.id, 'before', p.before) from pending_changes p
           where p.flow_id = $1::uuid and p.method = $2 and p.status = 'pending'
           order by p.id desc limit 1) as pending,
         (select row_to_json(a) from identity_authz a where a.identity_id = $3::uuid) as authz`

/**
 * Settles pending changes whose post-persist call never came (the service was down, or Kratos
 * refused the change after our pre-persist hook allowed it): compares the admin API's current
 * state with the recorded before-state and writes the audit entries of what Kratos stored,
 * or marks the record abandoned when nothing changed.
 */
export async function reconcilePendingChanges(
  d: ChangeDeps,
  opts: { olderThanMs: number; limit?: number },
): Promise<{ confirmed: number; abandoned: number }> {
  const db = d.database.db
  const rows = await db
    .select()
    .from(pendingChanges)
    .where(
      and(
        eq(pendingChanges.status, "pending"),
        lt(pendingChanges.createdAt, new Date(Date.now() - opts.olderThanMs)),
      ),
    )
    .orderBy(pendingChanges.id)
    .limit(opts.limit ?? 100)
  let confirmed = 0
  let abandoned = 0
  for (const row of rows) {
    const after = await d.kratos.summary(row.identityId)
    const method = row.method as SettingsMethod
    const events = after ? changeEvents(method, row.before as CredentialSummary, after) : []
    if (!after || events.length === 0) {
      await db
        .update(pendingChanges)
        .set({ status: "abandoned", resolvedAt: new Date() })
        .where(and(eq(pendingChanges.id, row.id), eq(pendingChanges.status, "pending")))
      abandoned++
      continue
    }
    const authz = await authorizationOf(d, row.identityId, after)
    await recordChange(d, {
      method,
      before: row.before as CredentialSummary,
      after: authz ? withAuthorization(after, authz) : after,
      flowId: row.flowId,
      ip: row.ip,
      userAgent: row.userAgent,
      requestId: row.requestId,
      pendingId: row.id,
    })
    confirmed++
  }
  if (rows.length > 0) d.log.info({ confirmed, abandoned }, "pending security changes reconciled")
  return { confirmed, abandoned }
}

interface RecordInput {
  method: SettingsMethod
  before: CredentialSummary | null
  after: CredentialSummary
  traits?: { previous: Record<string, unknown>; current: Record<string, unknown> }
  flowId: string
  ip: string | null
  userAgent: string | null
  requestId: string | null
  pendingId: number | null
}

const CONFIRM_PENDING = `
  update pending_changes set status = 'confirmed', resolved_at = now() where id = $1`

async function recordChange(d: ChangeDeps, r: RecordInput): Promise<void> {
  const events = changeEvents(r.method, r.before, r.after, r.traits)
  // One transaction sent at once (db/raw.ts atomic): the pending record confirmed, then each
  // entry (chain lock, append) with its notifications, which are written only if the entry
  // is new (a replayed delivery finds the entry and its notifications already written).
  const statements: Statement[] = []
  if (r.pendingId !== null) statements.push([CONFIRM_PENDING, [r.pendingId]])
  const locks: number[] = []
  for (const e of events) {
    const occurredAt = new Date()
    const details = { ...e.details, method: e.details.method ?? r.method }
    const append = appendStatements({
      event: e.event,
      actorType: "user",
      actorId: r.after.identityId,
      subjectId: r.after.identityId,
      ip: r.ip,
      userAgent: r.userAgent,
      flowId: r.flowId,
      requestId: r.requestId,
      posture: posture(r.after),
      details,
      dedupKey: `settings:${r.flowId}:${r.method}:${e.event}:${e.discriminator}`,
      occurredAt,
    })
    locks.push(statements.length)
    statements.push(...append.statements)
    const mail = enqueueIfAuditedStatement(
      notificationsFor({
        auditEventId: append.eventId,
        event: e.event,
        subject: { id: r.after.identityId, email: r.after.email },
        details,
        occurredAt,
        ip: r.ip,
        userAgent: r.userAgent,
        publicUrl: d.publicUrl,
      }),
    )
    if (mail) statements.push(mail)
  }
  if (statements.length === 0) return
  const results = await atomic(d.database.db, statements)
  for (const i of locks) checkChainLock(results[i]!)
}

/**
 * A successful login, recorded before Kratos issues the session (the hook runs first). Refused
 * when the service's record says the person is deactivated (whatever Kratos's copy says), and
 * Kratos is brought in step when its copy differs.
 */
export async function recordLogin(
  d: ChangeDeps,
  method: string,
  body: LoginHookBody,
  requestId: string,
): Promise<Refusal | null> {
  // Read before the transaction: the device check reads only history, and every statement
  // after appendAudit runs under the chain lock. The record and the history in one statement.
  const [[read], after] = await Promise.all([
    rawQuery<{ authz: Record<string, unknown> | null; earlier: EarlierLogin[] }>(
      d.database.db,
      LOGIN_READ,
      [body.identity_id],
    ),
    d.kratos.summary(body.identity_id),
  ])
  if (!after) return null
  const newDevice = isNewDevice(read?.earlier ?? [], body.client.user_agent)
  const authz = read?.authz
    ? authzFromJson(read.authz)
    : await authorizationOf(d, body.identity_id, after)
  if (authz?.state === "inactive") {
    d.log.info({ identityId: body.identity_id, method }, "login of a deactivated person refused")
    return authzRefusals.deactivated
  }
  const decided = authz ? withAuthorization(after, authz) : after
  const aal = body.session?.aal ?? null
  // The flow id, not the session id: Kratos has not stored the new session when this runs.
  const key = `login:${body.flow_id}:${method}`
  const base = {
    actorType: "user" as const,
    actorId: body.identity_id,
    subjectId: body.identity_id,
    ip: body.client.ip,
    userAgent: body.client.user_agent,
    flowId: body.flow_id,
    requestId,
    posture: posture(decided, { aal }),
  }
  const occurredAt = new Date()
  const notify = {
    subject: { id: body.identity_id, email: after.email },
    occurredAt,
    ip: body.client.ip,
    userAgent: body.client.user_agent,
    publicUrl: d.publicUrl,
  }
  // One transaction sent at once (db/raw.ts atomic): each entry with its notification, written
  // only if the entry is new (nothing for a replayed delivery).
  const statements: Statement[] = []
  const locks: number[] = []
  const append = (
    event: "auth.login" | "auth.recovery_code_used",
    details: Record<string, unknown>,
    mail: Omit<Parameters<typeof notificationsFor>[0], "auditEventId"> | null,
  ) => {
    const entry = appendStatements({
      ...base,
      event,
      details,
      dedupKey: `${key}:${event}`,
      occurredAt,
    })
    locks.push(statements.length)
    statements.push(...entry.statements)
    const queued = mail
      ? enqueueIfAuditedStatement(notificationsFor({ ...mail, auditEventId: entry.eventId }))
      : null
    if (queued) statements.push(queued)
  }
  append(
    "auth.login",
    { method, aal, refresh: body.refresh, requested_aal: body.requested_aal },
    newDevice ? { ...notify, event: "auth.login", newDevice, details: { method } } : null,
  )
  if (method === "lookup_secret") {
    const details = { recovery_codes_left: after.lookupSecret?.unused ?? 0 }
    append("auth.recovery_code_used", details, {
      ...notify,
      event: "auth.recovery_code_used",
      details,
    })
  }
  const results = await atomic(d.database.db, statements)
  for (const i of locks) checkChainLock(results[i]!)
  await recheck(
    d,
    body.identity_id,
    after,
    { source: "login", flowId: body.flow_id, requestId },
    authz,
  ).catch((err: unknown) =>
    d.log.warn({ err, identityId: body.identity_id }, "login: Kratos not brought in step"),
  )
  return null
}

/**
 * Whether a login comes from a device (browser family + OS) this account has not signed in
 * from before. The first login of an account is not "new" (there is nothing to compare with);
 * the device it registered from counts as known.
 */
function isNewDevice(earlier: EarlierLogin[], userAgent: string | null): boolean {
  if (!earlier.some((e) => e.event === "auth.login")) return false
  const device = deviceFingerprint(userAgent)
  return !earlier.some((e) => deviceFingerprint(e.user_agent) === device)
}

interface EarlierLogin {
  event: string
  user_agent: string | null
}

/** The service's record and the devices of earlier sign-ins (see isNewDevice). */
const LOGIN_READ = `
  select (select row_to_json(a) from identity_authz a where a.identity_id = $1::uuid) as authz,
         coalesce((select json_agg(h) from (
           select distinct event, user_agent from audit_events
            where subject_id = $1::uuid and event in ('auth.login', 'auth.registered')) h),
           '[]'::json) as earlier`

/** Everyone starts as a member; the role is set before Kratos stores the new identity. */
export function registrationMetadata(body: RegistrationHookBody, now = new Date()) {
  const existing = (body.identity.metadata_public ?? {}) as Record<string, unknown>
  return { ...existing, role: "member", role_assigned_at: now.toISOString() }
}

export async function recordRegistration(
  d: ChangeDeps,
  method: string,
  body: RegistrationHookBody,
  requestId: string,
): Promise<void> {
  if (!body.identity_id) return
  const after = await d.kratos.summary(body.identity_id)
  if (!after) return
  // The new member's record in the service, from what the pre-persist hook had Kratos store,
  // and the audit entry: one transaction, sent at once (db/raw.ts atomic).
  const append = appendStatements({
    event: "auth.registered",
    actorType: "user",
    actorId: body.identity_id,
    subjectId: body.identity_id,
    ip: body.client.ip,
    userAgent: body.client.user_agent,
    flowId: body.flow_id,
    requestId,
    posture: posture(after),
    details: { method },
    dedupKey: `registered:${body.identity_id}`,
  })
  const results = await atomic(d.database.db, [
    insertAuthorizationStatement(seedFrom(body.identity_id, kratosSideOf(after), "registration")),
    ...append.statements,
  ])
  checkChainLock(results[1]!)
}

/** The removal a settings form asked for (noted by the proxy), for the methods that have one. */
const ASKED: Partial<Record<SettingsMethod, string>> = {
  lookup_secret: "lookup_secret_disable",
  webauthn: "webauthn_remove",
  passkey: "passkey_remove",
}

/**
 * The intent the proxy noted for this flow, read before the identity's lock is taken (the
 * transaction under it holds a pool connection and must not wait for another).
 */
async function askedIntent(d: ChangeDeps, method: SettingsMethod, body: SettingsHookBody) {
  const kind = ASKED[method]
  if (!kind) return null
  if (method === "lookup_secret" && body.action_nodes.includes("lookup_secret_confirm")) return null
  return latestIntent(d.database.db, body.flow_id, [kind], INTENT_WINDOW_MS)
}

function classify(
  method: SettingsMethod,
  body: SettingsHookBody,
  before: CredentialSummary,
  asked: Awaited<ReturnType<typeof askedIntent>>,
): SettingsIntent {
  switch (method) {
    case "password":
      return { kind: "password_change" }
    case "profile":
      return { kind: "profile_update" }
    case "totp":
      // In pre-persist the admin API still shows the old state: TOTP present means unlink.
      return before.totp ? { kind: "totp_unlink" } : { kind: "totp_link" }
    case "lookup_secret": {
      if (body.action_nodes.includes("lookup_secret_confirm"))
        return { kind: "recovery_codes_confirm" }
      // Kratos rewrites the form to a lone "regenerate" button before a disable runs its hooks.
      if (asked || before.lookupSecret) return { kind: "recovery_codes_disable" }
      return { kind: "recovery_codes_confirm" }
    }
    case "webauthn":
      return asked?.detail
        ? { kind: "webauthn_remove", keyId: asked.detail }
        : { kind: "webauthn_add" }
    case "passkey":
      return asked?.detail
        ? { kind: "passkey_remove", keyId: asked.detail }
        : { kind: "passkey_add" }
  }
}

/**
 * One pending record per change: a retried delivery sees the same before-state (nothing was
 * persisted in between), a second change on the same flow sees the state the first one left.
 */
function preKey(body: SettingsHookBody, method: SettingsMethod, before: CredentialSummary): string {
  return `settings:${body.flow_id}:${method}:${fingerprint(JSON.stringify(before))}`
}

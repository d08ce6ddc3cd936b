import type { Identity } from "../kratos/types"
import type { Database, Tx } from "../../db/client"
import { insertAuthorization, loadAuthorizations } from "../data/authz"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture, readPublicMetadata, summarise, type CredentialSummary } from "../kratos/identity"
import { appendAudit, type AuditEventName } from "./audit"
import { listAudit, type AuditFilters, type AuditPage } from "./audit-queries"
import {
  authorizedSummary,
  kratosSide,
  seedFrom,
  withAuthorization,
  type Authorization,
} from "./authorization"
import { bumpRevision, changeAuthorization, withKratosWrite } from "./kratos-sync"
import { enqueueFor } from "./notifications"
import type { Role } from "../policy/roles"
import type { RoleActor } from "./roles"
import { gateCache } from "./gate-cache"
import { revokeAllKeysIn } from "./api-keys"

export interface AdminDeps {
  database: Database
  kratos: KratosAdmin
  config: { SECURITY_TEAM_EMAILS: string[]; PUBLIC_URL: string }
}

/** The admin acting, as the audit trail records them. */
export type AdminActor = RoleActor & { type: "admin"; id: string; role: Role; email: string | null }

export interface UserListItem {
  id: string
  email: string | null
  name: string | null
  role: Role
  state: string | null
  created_at: string | null
  /** Second factors on the account (`totp`, `webauthn` for MFA keys); empty when none. */
  second_factors: string[]
  force_password_change: boolean
}

/** Most identities read for one search; Kratos v1.3 can't filter by metadata server-side. */
const LIST_CAP = 10_000

/**
 * Lists people, filtered by a case-insensitive email/name substring and by role, sorted by
 * email. Kratos pages by token; roles live in metadata, so filtering happens here.
 */
export async function listUsers(
  d: AdminDeps,
  q: { search?: string; role?: Role; offset: number; limit: number },
): Promise<{ users: UserListItem[]; total: number; nextOffset: number | null }> {
  const all: Identity[] = []
  let pageToken: string | undefined
  do {
    // Credential types tell TOTP from none and MFA keys from passwordless ones; no secret.
    const page = await d.kratos.listIdentities({
      pageSize: 500,
      pageToken,
      withCredentialTypes: true,
    })
    all.push(...page.identities)
    pageToken = page.nextPageToken
  } while (pageToken && all.length < LIST_CAP)

  // Role, flag and state as the service decides them; Kratos's copy for anyone it has no record of.
  const records = await loadAuthorizations(
    d.database.db,
    all.map((i) => i.id),
  )
  const needle = q.search?.toLowerCase().trim()
  const items = all
    .map((i) => toListItem(i, records.get(i.id)))
    .filter((u) => !q.role || u.role === q.role)
    .filter((u) => !needle || `${u.email ?? ""} ${u.name ?? ""}`.toLowerCase().includes(needle))
    .sort((a, b) => (a.email ?? "").localeCompare(b.email ?? ""))
  const page = items.slice(q.offset, q.offset + q.limit)
  const next = q.offset + q.limit
  return { users: page, total: items.length, nextOffset: next < items.length ? next : null }
}

/** Who an id in the audit log is, as the console shows it in place of the id. */
export type PersonName = { email: string | null; name: string | null }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The email and name of each id that is still a person in Kratos, in one listing by id. Names
 * only help the reader: when Kratos can't answer, the log is shown with ids alone.
 */
export async function peopleByIds(
  d: Pick<AdminDeps, "kratos">,
  ids: readonly (string | null)[],
): Promise<Record<string, PersonName>> {
  const wanted = [...new Set(ids.filter((id): id is string => !!id && UUID.test(id)))]
  if (wanted.length === 0) return {}
  try {
    const found = await d.kratos.identitiesByIds(wanted)
    return Object.fromEntries(
      found.map((i) => {
        const { email, name } = toListItem(i, undefined)
        return [i.id, { email, name }]
      }),
    )
  } catch {
    return {}
  }
}

/** A page of the org-wide audit log, with who the ids on it are (see peopleByIds). */
export async function auditLog(d: AdminDeps, filters: AuditFilters, page: AuditPage) {
  const { items, nextCursor } = await listAudit(d.database.db, filters, page)
  const people = await peopleByIds(
    d,
    items.flatMap((e) => [e.actorId, e.subjectId]),
  )
  return { items, nextCursor, people }
}

function toListItem(i: Identity, record: Authorization | undefined): UserListItem {
  const summary = record ? withAuthorization(summarise(i), record) : summarise(i)
  const methods = posture(summary).methods
  const traits = (i.traits ?? {}) as { email?: unknown; name?: { first?: unknown; last?: unknown } }
  const name = [traits.name?.first, traits.name?.last]
    .filter((x) => typeof x === "string" && x)
    .join(" ")
  return {
    id: i.id,
    email: typeof traits.email === "string" ? traits.email : null,
    name: name || null,
    role: record ? summary.role : readPublicMetadata(i.metadata_public).role,
    state: summary.state,
    created_at: i.created_at ?? null,
    second_factors: methods.filter((m) => m === "totp" || m === "webauthn"),
    force_password_change: summary.metadataPublic.force_password_change?.required ?? false,
  }
}

/** The person as the admin console shows them: Kratos's credentials, the service's record. */
async function target(d: AdminDeps, id: string): Promise<CredentialSummary> {
  const found = await authorizedSummary(d, id)
  if (!found) throw new AppError("NOT_FOUND", "no such user")
  return found.summary
}

function refuseSelf(actor: AdminActor, targetId: string, what: string): void {
  if (actor.id === targetId) throw new AppError("FORBIDDEN", `you can't ${what} yourself`)
}

/** Admins manage members; only a super admin acts on admins and super admins. */
function requireRank(actor: AdminActor, t: { role: string }): void {
  if (t.role !== "member" && actor.role !== "super_admin") {
    throw new AppError("FORBIDDEN", "only a super admin can do this to an admin")
  }
}

/**
 * Writes the audit entry and, for events that notify (2FA reset, deactivation), the outbox rows
 * for the manager and the security team, in `tx` (the change's own transaction) or in one of
 * their own.
 */
async function audit(
  d: AdminDeps,
  actor: AdminActor,
  event: AuditEventName,
  subject: CredentialSummary | null,
  details: Record<string, unknown>,
  dedupKey: string,
  notify: { manager: CredentialSummary | null } | null = null,
  tx?: Tx,
) {
  const write = async (db: Tx) => {
    const entry = await appendAudit(db, {
      event,
      actorType: "admin",
      actorId: actor.id,
      subjectId: subject?.identityId ?? null,
      ip: actor.ip,
      userAgent: actor.userAgent,
      requestId: actor.requestId,
      posture: subject ? posture(subject) : {},
      details,
      dedupKey,
    })
    if (notify && subject && entry.inserted) {
      await enqueueFor(db, {
        auditEventId: entry.eventId,
        event,
        subject: {
          id: subject.identityId,
          email: subject.email,
          managerEmail: notify.manager?.email ?? null,
        },
        actor: { id: actor.id, email: actor.email },
        details,
        occurredAt: new Date(),
        ip: actor.ip,
        userAgent: actor.userAgent,
        securityTeam: d.config.SECURITY_TEAM_EMAILS,
        publicUrl: d.config.PUBLIC_URL,
      })
    }
    return entry
  }
  return tx ? write(tx) : d.database.db.transaction(write)
}

const managerOf = (d: AdminDeps, s: CredentialSummary) =>
  s.managerId ? d.kratos.summary(s.managerId) : Promise.resolve(null)

/** A person's record for the admin console: security posture, manager, sessions. */
export async function userDetail(d: AdminDeps, actor: AdminActor, id: string) {
  const s = await target(d, id)
  const [manager, sessions] = await Promise.all([
    s.managerId ? d.kratos.summary(s.managerId) : null,
    d.kratos.activeSessions(id),
  ])
  await audit(d, actor, "admin.user_viewed", s, {}, `viewed:${actor.requestId}`)
  return {
    id: s.identityId,
    email: s.email,
    state: s.state,
    role: s.role,
    created_at: s.createdAt,
    manager: manager ? { id: manager.identityId, email: manager.email } : null,
    // Who a reset or a deactivation is mailed to (recipientsFor): the dialogs say only that.
    notified: {
      manager: !!manager?.email,
      security_team: d.config.SECURITY_TEAM_EMAILS.length > 0,
    },
    force_password_change: s.metadataPublic.force_password_change ?? null,
    posture: posture(s),
    totp_enrolled_at: s.totp?.createdAt ?? null,
    security_keys: s.webauthn.map((k) => ({
      name: k.displayName,
      added_at: k.addedAt,
      passwordless: k.passwordless,
    })),
    passkeys: s.passkeys.length,
    sessions: sessions.map((x) => ({
      id: x.id,
      aal: x.authenticator_assurance_level,
      authenticated_at: x.authenticated_at,
      expires_at: x.expires_at,
      devices: (x.devices ?? []).map((dv) => ({ ip: dv.ip_address, user_agent: dv.user_agent })),
    })),
  }
}

export async function setManager(
  d: AdminDeps,
  actor: AdminActor,
  id: string,
  managerId: string | null,
) {
  const s = await target(d, id)
  if (managerId === id) throw new AppError("BAD_REQUEST", "a person can't be their own manager")
  if (managerId && !(await d.kratos.summary(managerId)))
    throw new AppError("BAD_REQUEST", "no such manager")
  await changeAuthorization(
    d,
    id,
    { by: actor.id, requestId: actor.requestId, source: "admin" },
    (current) =>
      current.managerId === managerId
        ? { set: null, result: null }
        : { set: { managerId }, result: null },
    async (tx, before, after) => {
      await audit(
        d,
        actor,
        "admin.manager_changed",
        withAuthorization(s, after),
        { from: before.managerId, to: managerId },
        `manager:${actor.requestId}`,
        null,
        tx,
      )
    },
  )
  return { manager_id: managerId }
}

/** What an approved lost-device request (domain/recovery-requests.ts) adds to a 2FA reset. */
export interface ResetOptions {
  /** The person's session to keep (the AAL1 session that asked); every other one ends. */
  keepSessionId?: string | null
  /** Recorded on the reset's audit entry. */
  recoveryRequestId?: string
  /** Runs in the reset's transaction under the person's lock, before anything is removed. */
  beforeReset?: (tx: Tx) => Promise<void>
  /** Runs in the reset's transaction, after its audit entry. */
  afterReset?: (tx: Tx) => Promise<void>
}

/**
 * Removes every second factor Kratos lets an admin remove (TOTP, recovery codes, MFA security
 * keys; passwordless keys stay, as Kratos keeps them) and signs the person out everywhere (but
 * the one session `opts.keepSessionId` names, for an approved lost-device request).
 */
export async function resetTwoFactor(
  d: AdminDeps,
  actor: AdminActor,
  id: string,
  opts: ResetOptions = {},
) {
  refuseSelf(actor, id, "reset two-factor authentication for")
  const s = await target(d, id)
  requireRank(actor, s)
  const manager = await managerOf(d, s)
  // Under the identity's lock and never during a settings submit Kratos is persisting: that
  // submit would write the removed factors back (it writes the identity it loaded), and these
  // deletes rewrite the whole identity too.
  const done = await withKratosWrite(d, id, async (tx, record) => {
    requireRank(actor, record)
    await opts.beforeReset?.(tx)
    const removed: string[] = []
    for (const type of ["totp", "lookup_secret", "webauthn"] as const) {
      if (await d.kratos.deleteCredential(id, type)) removed.push(type)
    }
    await bumpRevision(d.kratos, id)
    let keptSession = false
    if (opts.keepSessionId) {
      for (const session of await d.kratos.activeSessions(id)) {
        if (session.id === opts.keepSessionId) keptSession = true
        else await d.kratos.disableSession(session.id)
      }
    } else {
      await d.kratos.deleteSessions(id)
    }
    const after = await d.kratos.summary(id)
    if (!after) throw new AppError("NOT_FOUND", "no such user")
    const subject = withAuthorization(after, record)
    // In the same transaction, before the lock is let go: the trail lists this reset before
    // any factor enrolled after it.
    const entry = await audit(
      d,
      actor,
      "admin.2fa_reset",
      subject,
      {
        removed,
        sessions_revoked: true,
        ...(opts.recoveryRequestId
          ? { recovery_request_id: opts.recoveryRequestId, kept_requesting_session: keptSession }
          : {}),
      },
      `2fa_reset:${actor.requestId}`,
      { manager },
      tx,
    )
    await revokeAllKeysIn(tx, actor, id, "2fa_reset")
    await opts.afterReset?.(tx)
    return { removed, eventId: entry.eventId, subject }
  })
  if (!done) throw new AppError("NOT_FOUND", "no such user")
  return done.value
}

export async function revokeSessions(d: AdminDeps, actor: AdminActor, id: string) {
  const s = await target(d, id)
  await d.kratos.deleteSessions(id)
  gateCache.changing(id)
  await audit(d, actor, "admin.sessions_revoked", s, {}, `sessions:${actor.requestId}`)
  return { revoked: true }
}

export async function setActive(d: AdminDeps, actor: AdminActor, id: string, active: boolean) {
  refuseSelf(actor, id, active ? "reactivate" : "deactivate")
  const s = await target(d, id)
  requireRank(actor, s)
  const manager = active ? null : await managerOf(d, s)
  const want = active ? "active" : "inactive"
  let eventId: string | null = null
  const { after } = await changeAuthorization(
    d,
    id,
    { by: actor.id, requestId: actor.requestId, source: "admin" },
    (current) => {
      requireRank(actor, current)
      return current.state === want
        ? { set: null, result: null }
        : { set: { state: want, stateChangedAt: new Date() }, result: null }
    },
    async (tx, _before, record) => {
      const entry = await audit(
        d,
        actor,
        active ? "admin.user_reactivated" : "admin.user_deactivated",
        withAuthorization(s, record),
        { sessions_revoked: !active },
        `state:${actor.requestId}`,
        active ? null : { manager },
        tx,
      )
      eventId = entry.eventId
      if (!active) await revokeAllKeysIn(tx, actor, id, "deactivated")
    },
  )
  // Kratos refuses sessions of an inactive identity; they are ended too, as before.
  if (!active) {
    await d.kratos.deleteSessions(id)
    gateCache.changing(id)
  }
  const subject = withAuthorization(s, after)
  return { state: after.state, eventId, subject }
}

/**
 * Creates a person and a one-time Kratos recovery code to hand over: they sign in with it and
 * set their own password. The code is returned once and never stored or logged by us.
 */
export async function provisionUser(
  d: AdminDeps,
  actor: AdminActor,
  input: { email: string; first_name?: string; last_name?: string; role: Role },
) {
  if (input.role !== "member" && actor.role !== "super_admin") {
    throw new AppError("FORBIDDEN", "only a super admin grants admin roles")
  }
  if (await d.kratos.findByIdentifier(input.email))
    throw new AppError("CONFLICT", "a user with this email exists")
  const name =
    input.first_name || input.last_name
      ? { first: input.first_name ?? "", last: input.last_name ?? "" }
      : undefined
  const identity = await d.kratos.createIdentity({
    schema_id: "person",
    traits: { email: input.email, ...(name ? { name } : {}) },
    metadata_public: { role: input.role, role_assigned_at: new Date().toISOString() },
  })
  const recovery = await d.kratos.createRecoveryCode(identity.id, "24h")
  // The service's record of the new person, taken from what Kratos just stored.
  await insertAuthorization(
    d.database.db,
    seedFrom(identity.id, kratosSide(identity), "provisioning"),
  )
  const s = await target(d, identity.id)
  await audit(
    d,
    actor,
    "admin.user_provisioned",
    s,
    { role: input.role },
    `provisioned:${identity.id}`,
  )
  return {
    id: identity.id,
    email: input.email,
    role: input.role,
    recovery_code: recovery.recovery_code,
    recovery_link: recovery.recovery_link,
    expires_at: recovery.expires_at ?? null,
  }
}

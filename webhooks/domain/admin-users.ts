import type { Identity } from "@ory/client"
import axios from "axios"
import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { posture, readPublicMetadata, summarise, type CredentialSummary } from "../kratos/identity"
import { appendAudit, type AuditEventName } from "./audit"
import { enqueueFor } from "./notifications"
import { writeMetadata } from "./force-password-change"
import type { Role } from "./org-policy"
import type { RoleActor } from "./roles"

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
    // Asking for WebAuthn's config also lists every credential type (without its config), which
    // is what tells TOTP from none and MFA keys from passwordless ones; no secret is in it.
    const res = await d.kratos.identities.listIdentities({
      pageSize: 500,
      pageToken,
      includeCredential: ["webauthn"],
    })
    all.push(...res.data)
    pageToken = nextPageToken(res.headers.link as string | undefined)
  } while (pageToken && all.length < LIST_CAP)

  const needle = q.search?.toLowerCase().trim()
  const items = all
    .map(toListItem)
    .filter((u) => !q.role || u.role === q.role)
    .filter((u) => !needle || `${u.email ?? ""} ${u.name ?? ""}`.toLowerCase().includes(needle))
    .sort((a, b) => (a.email ?? "").localeCompare(b.email ?? ""))
  const page = items.slice(q.offset, q.offset + q.limit)
  const next = q.offset + q.limit
  return { users: page, total: items.length, nextOffset: next < items.length ? next : null }
}

function nextPageToken(link: string | undefined): string | undefined {
  const next = link?.split(",").find((part) => /rel="next"/.test(part))
  const url = next?.match(/<([^>]+)>/)?.[1]
  return url
    ? (new URL(url, "http://kratos").searchParams.get("page_token") ?? undefined)
    : undefined
}

function toListItem(i: Identity): UserListItem {
  const summary = summarise(i)
  const methods = posture(summary).methods
  const traits = (i.traits ?? {}) as { email?: unknown; name?: { first?: unknown; last?: unknown } }
  const name = [traits.name?.first, traits.name?.last]
    .filter((x) => typeof x === "string" && x)
    .join(" ")
  return {
    id: i.id,
    email: typeof traits.email === "string" ? traits.email : null,
    name: name || null,
    role: readPublicMetadata(i.metadata_public).role,
    state: i.state ?? null,
    created_at: i.created_at ?? null,
    second_factors: methods.filter((m) => m === "totp" || m === "webauthn"),
    force_password_change: summary.metadataPublic.force_password_change?.required ?? false,
  }
}

async function target(d: AdminDeps, id: string): Promise<CredentialSummary> {
  const s = await d.kratos.summary(id)
  if (!s) throw new AppError("NOT_FOUND", "no such user")
  return s
}

function refuseSelf(actor: AdminActor, targetId: string, what: string): void {
  if (actor.id === targetId) throw new AppError("FORBIDDEN", `you can't ${what} yourself`)
}

/** Admins manage members; only a super admin acts on admins and super admins. */
function requireRank(actor: AdminActor, t: CredentialSummary): void {
  if (t.role !== "member" && actor.role !== "super_admin") {
    throw new AppError("FORBIDDEN", "only a super admin can do this to an admin")
  }
}

/**
 * Writes the audit entry and, for events that notify (2FA reset, deactivation), the outbox rows
 * for the manager and the security team in the same transaction.
 */
async function audit(
  d: AdminDeps,
  actor: AdminActor,
  event: AuditEventName,
  subject: CredentialSummary | null,
  details: Record<string, unknown>,
  dedupKey: string,
  notify = false,
) {
  const manager = notify && subject?.managerId ? await d.kratos.summary(subject.managerId) : null
  return d.database.db.transaction(async (tx) => {
    const entry = await appendAudit(tx, {
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
      await enqueueFor(tx, {
        auditEventId: entry.eventId,
        event,
        subject: {
          id: subject.identityId,
          email: subject.email,
          managerEmail: manager?.email ?? null,
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
  })
}

/** A person's record for the admin console: security posture, manager, sessions. */
export async function userDetail(d: AdminDeps, actor: AdminActor, id: string) {
  const s = await target(d, id)
  const [manager, sessions] = await Promise.all([
    s.managerId ? d.kratos.summary(s.managerId) : null,
    d.kratos.identities.listIdentitySessions({ id, active: true }).then((r) => r.data),
  ])
  await audit(d, actor, "admin.user_viewed", s, {}, `viewed:${actor.requestId}`)
  return {
    id: s.identityId,
    email: s.email,
    state: s.state,
    role: s.role,
    created_at: s.createdAt,
    manager: manager ? { id: manager.identityId, email: manager.email } : null,
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
  await writeMetadata(d.kratos, id, { admin: { ...s.metadataAdmin, manager_id: managerId } })
  await audit(
    d,
    actor,
    "admin.manager_changed",
    s,
    { from: s.managerId, to: managerId },
    `manager:${actor.requestId}`,
  )
  return { manager_id: managerId }
}

/**
 * Removes every second factor Kratos lets an admin remove (TOTP, recovery codes, MFA security
 * keys; passwordless keys stay, as Kratos keeps them) and signs the person out everywhere.
 */
export async function resetTwoFactor(d: AdminDeps, actor: AdminActor, id: string) {
  refuseSelf(actor, id, "reset two-factor authentication for")
  const s = await target(d, id)
  requireRank(actor, s)
  const removed: string[] = []
  for (const type of ["totp", "lookup_secret", "webauthn"] as const) {
    try {
      await d.kratos.identities.deleteIdentityCredentials({ id, type })
      removed.push(type)
    } catch (err) {
      if (!(axios.isAxiosError(err) && err.response?.status === 404)) throw err
    }
  }
  await d.kratos.identities.deleteIdentitySessions({ id }).catch(ignore404)
  const after = await target(d, id)
  const entry = await audit(
    d,
    actor,
    "admin.2fa_reset",
    after,
    { removed, sessions_revoked: true },
    `2fa_reset:${actor.requestId}`,
    true,
  )
  return { removed, eventId: entry.eventId, subject: after }
}

export async function revokeSessions(d: AdminDeps, actor: AdminActor, id: string) {
  const s = await target(d, id)
  await d.kratos.identities.deleteIdentitySessions({ id }).catch(ignore404)
  await audit(d, actor, "admin.sessions_revoked", s, {}, `sessions:${actor.requestId}`)
  return { revoked: true }
}

export async function setActive(d: AdminDeps, actor: AdminActor, id: string, active: boolean) {
  refuseSelf(actor, id, active ? "reactivate" : "deactivate")
  const s = await target(d, id)
  requireRank(actor, s)
  await d.kratos.identities.patchIdentity({
    id,
    jsonPatch: [{ op: "replace", path: "/state", value: active ? "active" : "inactive" }],
  })
  if (!active) await d.kratos.identities.deleteIdentitySessions({ id }).catch(ignore404)
  const after = await target(d, id)
  const entry = await audit(
    d,
    actor,
    active ? "admin.user_reactivated" : "admin.user_deactivated",
    after,
    { sessions_revoked: !active },
    `state:${actor.requestId}`,
    !active,
  )
  return { state: after.state, eventId: entry.eventId, subject: after }
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
  const existing = await d.kratos.identities.listIdentities({ credentialsIdentifier: input.email })
  if (existing.data.length > 0) throw new AppError("CONFLICT", "a user with this email exists")
  const name =
    input.first_name || input.last_name
      ? { first: input.first_name ?? "", last: input.last_name ?? "" }
      : undefined
  const { data: identity } = await d.kratos.identities.createIdentity({
    createIdentityBody: {
      schema_id: "person",
      traits: { email: input.email, ...(name ? { name } : {}) },
      metadata_public: { role: input.role, role_assigned_at: new Date().toISOString() },
    },
  })
  const { data: recovery } = await d.kratos.identities.createRecoveryCodeForIdentity({
    createRecoveryCodeForIdentityBody: { identity_id: identity.id, expires_in: "24h" },
  })
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

function ignore404(err: unknown): void {
  if (!(axios.isAxiosError(err) && err.response?.status === 404)) throw err
}

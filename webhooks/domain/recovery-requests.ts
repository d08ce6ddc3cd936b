import { createHash, randomInt, timingSafeEqual } from "node:crypto"
import type { Tx } from "../../db/client"
import {
  addApproval,
  countFailedAttempt,
  countSubmittedSince,
  currentRequest,
  decideRequest,
  expireOverdue,
  findRequest,
  insertVerifying,
  latestRequest,
  listRequests,
  lockPersonRequests,
  openRequest,
  replaceCode,
  type Approval,
  type RecoveryRow,
  type RecoveryStatus,
} from "../data/recovery-requests"
import { AppError } from "../errors"
import { posture, secondFactors, type CredentialSummary } from "../kratos/identity"
import type { Session } from "../kratos/types"
import type { Role } from "../policy/roles"
import { peopleByIds, resetTwoFactor, type AdminActor, type AdminDeps } from "./admin-users"
import { listAudit } from "./audit-queries"
import { appendAudit, appendAuditAlone, type AuditEventName } from "./audit"
import { authorizedSummary } from "./authorization"
import { deviceName } from "./device"
import { enqueueFor } from "./notifications"

/**
 * Lost-device recovery with admin approval. A person who lost their second factor (and their
 * recovery codes) signs in with their password (AAL1), asks for a code mailed to their
 * verified address, and sends it with a reason: the request is then open for admins, and their
 * manager and the security team are told. An admin approves (at AAL2; never their own
 * request; an admin's request needs a second admin when four eyes are on) or denies. Approval
 * is the admin 2FA reset (admin-users.ts `resetTwoFactor`) keeping the session that asked, so
 * the person goes on to enrol again; an open request expires after a while. Each step is
 * audited and notified; one request per person is in progress at a time.
 */

export interface RecoverySettings {
  /** How long an open request waits for a decision. */
  ttlHours: number
  /** An admin's (or super admin's) request needs two approvals by different admins. */
  fourEyes: boolean
}

export interface RecoveryDeps extends AdminDeps {
  settings: RecoverySettings
  /** The clock every decision reads (tests move it). */
  now: () => Date
}

/** The person asking, from their request: session, address and device. */
export interface Asker {
  session: Session
  ip: string | null
  userAgent: string | null
  requestId: string
}

export const CODE_TTL_MS = 15 * 60_000
export const MAX_CODE_ATTEMPTS = 5
/** Codes one request may send in a day, however often "Send a new code" is pressed. */
export const MAX_CODES_PER_DAY = 5
/** The window of "repeated requests" shown to admins. */
export const REPEAT_WINDOW_DAYS = 90
export const REASON_MAX = 1000

// --- pure decisions ---------------------------------------------------------------------------

type Refusal = { code: "FORBIDDEN" | "CONFLICT"; reason: string; message: string }

/**
 * Whether this person may ask for a reset now (null: yes). Signed in with a password at AAL1,
 * active, with a second factor to lose, and a verified address to mail the code to.
 */
export function askRefusal(p: {
  aal: string | null
  passwordSignIn: boolean
  active: boolean
  hasSecondFactor: boolean
  emailVerified: boolean
}): Refusal | null {
  // In the order a person would fix them; the first that applies is the answer.
  const rules: [boolean, Refusal["code"], string, string][] = [
    [!p.active, "FORBIDDEN", "deactivated", "this account is deactivated"],
    [
      p.aal === "aal2" || p.aal === "aal3",
      "CONFLICT",
      "second_factor_available",
      "you're signed in with your second factor: change your methods on the Security page",
    ],
    [
      !p.passwordSignIn,
      "FORBIDDEN",
      "password_sign_in_required",
      "sign in with your password first",
    ],
    [
      !p.hasSecondFactor,
      "CONFLICT",
      "no_second_factor",
      "your account has no second factor to reset",
    ],
    [
      !p.emailVerified,
      "CONFLICT",
      "email_not_verified",
      "your email address is not verified: ask an administrator for help",
    ],
  ]
  const hit = rules.find(([applies]) => applies)
  return hit ? { code: hit[1], reason: hit[2], message: hit[3] } : null
}

/** The request's status as of `now`: an open one past its expiry reads as expired. */
export function statusAt(row: Pick<RecoveryRow, "status" | "expiresAt">, now: Date) {
  return row.status === "open" && row.expiresAt && row.expiresAt.getTime() <= now.getTime()
    ? "expired"
    : row.status
}

/** How many approvals a request needs: two for an admin's under four eyes. */
export function approvalsNeeded(subjectRole: Role, fourEyes: boolean): number {
  return fourEyes && subjectRole !== "member" ? 2 : 1
}

export type ApprovalDecision =
  | { kind: "refused"; refusal: Refusal }
  | { kind: "first"; needed: number }
  | { kind: "complete"; needed: number }

/**
 * Whether this admin's approval counts, and whether it completes the request. Nobody approves
 * their own request, nor the same one twice; an admin's request is a super admin's to approve
 * (as its reset is).
 */
export function decideApproval(input: {
  request: Pick<RecoveryRow, "status" | "expiresAt" | "identityId" | "approvals">
  approver: { id: string; role: Role }
  subjectRole: Role
  fourEyes: boolean
  now: Date
}): ApprovalDecision {
  const refused = (code: Refusal["code"], reason: string, message: string): ApprovalDecision => ({
    kind: "refused",
    refusal: { code, reason, message },
  })
  const { request, approver } = input
  if (approver.id === request.identityId) {
    return refused("FORBIDDEN", "own_request", "you can't decide your own recovery request")
  }
  const status = statusAt(request, input.now)
  if (status !== "open") {
    return refused("CONFLICT", `request_${status}`, `this request is ${status}`)
  }
  if (input.subjectRole !== "member" && approver.role !== "super_admin") {
    return refused("FORBIDDEN", "rank", "only a super admin can do this to an admin")
  }
  if (request.approvals.some((a) => a.admin_id === approver.id)) {
    return refused(
      "CONFLICT",
      "second_approver_required",
      "you approved this request already: a second administrator must approve it",
    )
  }
  const needed = approvalsNeeded(input.subjectRole, input.fourEyes)
  return request.approvals.length + 1 >= needed
    ? { kind: "complete", needed }
    : { kind: "first", needed }
}

/** Whether this admin may deny the request (null: yes). */
export function denialRefusal(input: {
  request: Pick<RecoveryRow, "status" | "expiresAt" | "identityId">
  admin: { id: string; role: Role }
  subjectRole: Role
  now: Date
}): Refusal | null {
  if (input.admin.id === input.request.identityId) {
    return {
      code: "FORBIDDEN",
      reason: "own_request",
      message: "you can't decide your own recovery request",
    }
  }
  const status = statusAt(input.request, input.now)
  if (status !== "open") {
    return { code: "CONFLICT", reason: `request_${status}`, message: `this request is ${status}` }
  }
  if (input.subjectRole !== "member" && input.admin.role !== "super_admin") {
    return {
      code: "FORBIDDEN",
      reason: "rank",
      message: "only a super admin can do this to an admin",
    }
  }
  return null
}

/** The code's hash, bound to the person (a code copied to another account is no use). */
export function codeHash(identityId: string, code: string): string {
  return createHash("sha256").update(`${identityId}:${code}`, "utf8").digest("hex")
}

/** Whether `code` is the request's current code, in constant time. */
export function codeMatches(
  row: Pick<RecoveryRow, "identityId" | "codeHash" | "codeExpiresAt">,
  code: string,
  now: Date,
): boolean {
  if (!row.codeHash || !row.codeExpiresAt || row.codeExpiresAt.getTime() <= now.getTime()) {
    return false
  }
  const given = Buffer.from(codeHash(row.identityId, code), "hex")
  const stored = Buffer.from(row.codeHash, "hex")
  return given.length === stored.length && timingSafeEqual(given, stored)
}

/** "j•••@example.com": enough to recognise one's address, not to learn someone else's. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@")
  if (at < 1) return "•••"
  return `${email[0]}•••${email.slice(at)}`
}

// --- views ------------------------------------------------------------------------------------

const iso = (d: Date | null) => d?.toISOString() ?? null

/** What the person sees of their newest request. */
export interface OwnRequestView {
  id: string
  status: RecoveryStatus
  reason: string | null
  created_at: string
  submitted_at: string | null
  expires_at: string | null
  decided_at: string | null
  decision_note: string | null
  approvals: number
  approvals_needed: number
  code_expires_at: string | null
}

function ownView(row: RecoveryRow, now: Date, needed: number): OwnRequestView {
  return {
    id: row.id,
    status: statusAt(row, now),
    reason: row.reason,
    created_at: row.createdAt.toISOString(),
    submitted_at: iso(row.submittedAt),
    expires_at: iso(row.expiresAt),
    decided_at: iso(row.decidedAt),
    decision_note: row.status === "denied" ? row.decisionNote : null,
    approvals: row.approvals.length,
    approvals_needed: needed,
    code_expires_at: row.status === "verifying" ? iso(row.codeExpiresAt) : null,
  }
}

// --- audit and notifications ------------------------------------------------------------------

const managerOf = (d: RecoveryDeps, s: CredentialSummary) =>
  s.managerId ? d.kratos.summary(s.managerId) : Promise.resolve(null)

/** The who and whom of an entry the person's own step writes. */
const byThePerson = (
  person: { id: string; summary: CredentialSummary },
  manager: CredentialSummary | null,
  asker: { ip: string | null; userAgent: string | null; requestId: string },
) => ({
  actor: { type: "user" as const, id: person.id },
  subject: person.summary,
  manager,
  ip: asker.ip,
  userAgent: asker.userAgent,
  requestId: asker.requestId,
})

/** The who and whom of an entry an admin's decision on a request writes. */
const byAdmin = (
  admin: AdminActor,
  subject: CredentialSummary,
  manager: CredentialSummary | null,
) => ({
  actor: { type: "admin" as const, id: admin.id, email: admin.email },
  subject,
  manager,
  ip: admin.ip,
  userAgent: admin.userAgent,
  requestId: admin.requestId,
})

async function record(
  d: RecoveryDeps,
  tx: Tx,
  e: {
    event: AuditEventName
    actor: { type: "user" | "admin" | "system"; id: string | null; email?: string | null }
    subject: CredentialSummary
    manager: CredentialSummary | null
    ip: string | null
    userAgent: string | null
    requestId: string | null
    details: Record<string, unknown>
    dedupKey: string
    oneTimeCode?: string
  },
) {
  const entry = await appendAudit(tx, {
    event: e.event,
    actorType: e.actor.type,
    actorId: e.actor.id,
    subjectId: e.subject.identityId,
    ip: e.ip,
    userAgent: e.userAgent,
    requestId: e.requestId,
    posture: posture(e.subject),
    details: e.details,
    dedupKey: e.dedupKey,
  })
  if (entry.inserted) {
    await enqueueFor(tx, {
      auditEventId: entry.eventId,
      event: e.event,
      subject: {
        id: e.subject.identityId,
        email: e.subject.email,
        managerEmail: e.manager?.email ?? null,
      },
      actor: e.actor.type === "admin" ? { id: e.actor.id, email: e.actor.email ?? null } : null,
      details: e.details,
      occurredAt: d.now(),
      ip: e.ip,
      userAgent: e.userAgent,
      securityTeam: d.config.SECURITY_TEAM_EMAILS,
      publicUrl: d.config.PUBLIC_URL,
      oneTimeCode: e.oneTimeCode,
    })
  }
  return entry
}

// --- the person's side ------------------------------------------------------------------------

async function askingPerson(d: RecoveryDeps, asker: Asker) {
  const id = asker.session.identity!.id
  const [found, identity] = await Promise.all([authorizedSummary(d, id), d.kratos.identity(id)])
  if (!found || !identity) throw new AppError("UNAUTHORIZED", "sign in first")
  const s = found.summary
  const email = s.email
  const verified = (identity.verifiable_addresses ?? []).some(
    (a) => a.verified && email !== null && a.value.toLowerCase() === email.toLowerCase(),
  )
  const refusal = askRefusal({
    aal: asker.session.authenticator_assurance_level ?? null,
    passwordSignIn: (asker.session.authentication_methods ?? []).some(
      (m) => m.method === "password",
    ),
    active: found.authz.state === "active",
    hasSecondFactor: secondFactors(s).length > 0,
    emailVerified: verified,
  })
  if (refusal) throw new AppError(refusal.code, refusal.message, { reason: refusal.reason })
  return { id, summary: s, email: email! }
}

/**
 * Mails the person a 6-digit code for a new request (or a new code for the request they are
 * verifying). 409 when a request of theirs is open already; 429 past MAX_CODES_PER_DAY.
 */
export async function sendRecoveryCode(
  d: RecoveryDeps,
  asker: Asker,
): Promise<{ sent_to: string; code_expires_at: string }> {
  const person = await askingPerson(d, asker)
  await expireRequests(d)
  const now = d.now()
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0")
  const hash = codeHash(person.id, code)
  const codeExpiresAt = new Date(now.getTime() + CODE_TTL_MS)
  const manager = await managerOf(d, person.summary)
  await d.database.db.transaction(async (tx) => {
    await lockPersonRequests(tx, person.id)
    const current = await currentRequest(tx, person.id)
    if (current?.status === "open") {
      throw new AppError("CONFLICT", "you have a recovery request waiting for an administrator", {
        reason: "request_open",
      })
    }
    let row: RecoveryRow | null
    if (current) {
      const restart = now.getTime() - current.createdAt.getTime() > 86_400_000
      if (!restart && current.codesSent >= MAX_CODES_PER_DAY) {
        throw new AppError("TOO_MANY_REQUESTS", "too many codes sent: try again tomorrow", {
          reason: "too_many_codes",
        })
      }
      row = await replaceCode(tx, {
        id: current.id,
        codeHash: hash,
        codeExpiresAt,
        sessionId: asker.session.id,
        restart,
        now,
        ip: asker.ip,
        userAgent: asker.userAgent,
      })
    } else {
      row = await insertVerifying(tx, {
        identityId: person.id,
        codeHash: hash,
        codeExpiresAt,
        sessionId: asker.session.id,
        ip: asker.ip,
        userAgent: asker.userAgent,
        now,
      })
    }
    await record(d, tx, {
      event: "auth.recovery_request_code_sent",
      ...byThePerson(person, manager, asker),
      details: { request_id: row!.id, codes_sent: row!.codesSent },
      dedupKey: `recovery_code:${asker.requestId}`,
      oneTimeCode: code,
    })
  })
  return { sent_to: maskEmail(person.email), code_expires_at: codeExpiresAt.toISOString() }
}

/**
 * Sends the request: the code must be the one mailed (at most MAX_CODE_ATTEMPTS tries), and
 * the reason is written for the admins. The manager and the security team are told.
 */
export async function submitRecoveryRequest(
  d: RecoveryDeps,
  asker: Asker,
  input: { code: string; reason: string },
): Promise<OwnRequestView> {
  const person = await askingPerson(d, asker)
  const now = d.now()
  const manager = await managerOf(d, person.summary)
  const since = new Date(now.getTime() - REPEAT_WINDOW_DAYS * 86_400_000)
  const outcome = await d.database.db.transaction(async (tx) => {
    await lockPersonRequests(tx, person.id)
    const current = await currentRequest(tx, person.id)
    if (!current) {
      return { error: codeError("ask for a code first", "code_required") }
    }
    if (current.status === "open") {
      return {
        error: new AppError(
          "CONFLICT",
          "you have a recovery request waiting for an administrator",
          {
            reason: "request_open",
          },
        ),
      }
    }
    if (!codeMatches(current, input.code, now)) {
      // Counted after this transaction, which writes nothing on this path.
      return { wrong: current.id }
    }
    const previous = await countSubmittedSince(tx, person.id, since)
    const opened = await openRequest(tx, {
      id: current.id,
      reason: input.reason,
      now,
      expiresAt: new Date(now.getTime() + d.settings.ttlHours * 3_600_000),
      sessionId: asker.session.id,
      ip: asker.ip,
      userAgent: asker.userAgent,
    })
    await record(d, tx, {
      event: "auth.recovery_requested",
      ...byThePerson(person, manager, asker),
      details: {
        request_id: opened!.id,
        reason: input.reason,
        previous_requests: previous,
        expires_at: iso(opened!.expiresAt),
      },
      dedupKey: `recovery_requested:${opened!.id}`,
    })
    return { opened: opened! }
  })
  if ("error" in outcome) throw outcome.error
  if ("wrong" in outcome) {
    const attempts = await countFailedAttempt(d.database.db, outcome.wrong!, MAX_CODE_ATTEMPTS)
    const left = Math.max(0, MAX_CODE_ATTEMPTS - attempts)
    throw left > 0
      ? codeError(
          `this code is not right or has expired (${left} ${left === 1 ? "try" : "tries"} left)`,
          "code_invalid",
        )
      : codeError("too many wrong codes: ask for a new one", "code_attempts_exceeded")
  }
  return ownView(outcome.opened!, now, approvalsNeeded(person.summary.role, d.settings.fourEyes))
}

function codeError(message: string, reason: string) {
  return new AppError("BAD_REQUEST", message, { reason })
}

/** The person's newest request (expired ones marked first), or null. */
export async function ownRecoveryRequest(
  d: RecoveryDeps,
  identityId: string,
): Promise<OwnRequestView | null> {
  await expireRequests(d)
  const row = await latestRequest(d.database.db, identityId)
  if (!row) return null
  const found = await authorizedSummary(d, identityId)
  const role = (found?.summary.role ?? "member") as Role
  return ownView(row, d.now(), approvalsNeeded(role, d.settings.fourEyes))
}

// --- expiry -----------------------------------------------------------------------------------

/**
 * Marks every open request past its expiry as expired, each audited (by the system) and told to
 * the person. Runs before each read and decision, and on the service's timer.
 */
export async function expireRequests(d: RecoveryDeps): Promise<number> {
  const now = d.now()
  return d.database.db.transaction(async (tx) => {
    const rows = await expireOverdue(tx, now)
    for (const row of rows) {
      const s = await d.kratos.summary(row.identityId)
      if (!s) continue
      await record(d, tx, {
        event: "system.recovery_request_expired",
        actor: { type: "system", id: null },
        subject: s,
        manager: null,
        ip: null,
        userAgent: null,
        requestId: null,
        details: { request_id: row.id, expires_at: iso(row.expiresAt) },
        dedupKey: `recovery_expired:${row.id}`,
      })
    }
    return rows.length
  })
}

// --- the admins' side -------------------------------------------------------------------------

export interface QueueItem {
  id: string
  status: RecoveryStatus
  reason: string | null
  submitted_at: string | null
  expires_at: string | null
  decided_at: string | null
  decided_by: string | null
  decision_note: string | null
  ip: string | null
  user_agent: string | null
  device: string
  approvals: { admin_id: string; email: string | null; at: string }[]
  approvals_needed: number
  previous_requests: number
  person: {
    id: string
    email: string | null
    role: Role
    state: string | null
    posture: ReturnType<typeof posture>
  } | null
  recent_sign_ins: { at: string; ip: string | null; device: string }[]
  sessions: {
    id: string
    aal: string | null
    authenticated_at: string | null
    device: string
    ip: string | null
  }[]
}

async function queueItem(
  d: RecoveryDeps,
  row: RecoveryRow,
  names: Record<string, { email: string | null }>,
): Promise<QueueItem> {
  const now = d.now()
  const [found, sessions, signIns, previous] = await Promise.all([
    authorizedSummary(d, row.identityId),
    row.status === "open" ? d.kratos.activeSessions(row.identityId) : Promise.resolve([]),
    listAudit(d.database.db, { subjectId: row.identityId, event: "auth.login" }, { limit: 5 }),
    countSubmittedSince(
      d.database.db,
      row.identityId,
      new Date((row.submittedAt ?? now).getTime() - REPEAT_WINDOW_DAYS * 86_400_000),
    ),
  ])
  const s = found?.summary ?? null
  const role = (s?.role ?? "member") as Role
  return {
    id: row.id,
    status: statusAt(row, now),
    reason: row.reason,
    submitted_at: iso(row.submittedAt),
    expires_at: iso(row.expiresAt),
    decided_at: iso(row.decidedAt),
    decided_by: row.decidedBy,
    decision_note: row.decisionNote,
    ip: row.ip,
    user_agent: row.userAgent,
    device: deviceName(row.userAgent),
    approvals: row.approvals.map((a: Approval) => ({
      admin_id: a.admin_id,
      email: names[a.admin_id]?.email ?? null,
      at: a.at,
    })),
    approvals_needed: approvalsNeeded(role, d.settings.fourEyes),
    // This one included: "2" means they asked once before.
    previous_requests: Math.max(0, previous - (row.submittedAt ? 1 : 0)),
    person: s
      ? {
          id: s.identityId,
          email: s.email,
          role,
          state: found!.authz.state,
          posture: posture(s),
        }
      : null,
    recent_sign_ins: signIns.items.map((e) => ({
      at: e.occurredAt.toISOString(),
      ip: e.ip,
      device: deviceName(e.userAgent),
    })),
    sessions: sessions.map((x) => ({
      id: x.id,
      aal: x.authenticator_assurance_level ?? null,
      authenticated_at: x.authenticated_at ?? null,
      device: deviceName(x.devices?.[0]?.user_agent),
      ip: x.devices?.[0]?.ip_address ?? null,
    })),
  }
}

/** The queue (open requests by default, or those of one status), each with what to judge it by. */
export async function recoveryQueue(
  d: RecoveryDeps,
  admin: AdminActor,
  q: { status: RecoveryStatus | "all" },
): Promise<{ items: QueueItem[]; four_eyes: boolean }> {
  await expireRequests(d)
  const rows = await listRequests(d.database.db, {
    status: q.status === "all" ? null : q.status,
    limit: 50,
  })
  const names = await peopleByIds(
    d,
    rows.flatMap((r) => r.approvals.map((a) => a.admin_id)),
  )
  const items = await Promise.all(rows.map((r) => queueItem(d, r, names)))
  await appendAuditAlone(d.database.db, {
    event: "admin.viewed",
    actorType: "admin",
    actorId: admin.id,
    subjectId: null,
    ip: admin.ip,
    userAgent: admin.userAgent,
    requestId: admin.requestId,
    posture: {},
    details: { what: "recovery_requests", query: q },
    dedupKey: `admin.viewed:${admin.requestId}`,
  })
  return { items, four_eyes: d.settings.fourEyes }
}

async function loadForDecision(d: RecoveryDeps, id: string) {
  await expireRequests(d)
  const row = await findRequest(d.database.db, id)
  if (!row || row.status === "verifying")
    throw new AppError("NOT_FOUND", "no such recovery request")
  const found = await authorizedSummary(d, row.identityId)
  if (!found) throw new AppError("NOT_FOUND", "no such user")
  return { row, subject: found.summary }
}

const refusalError = (r: Refusal) => new AppError(r.code, r.message, { reason: r.reason })

/**
 * An admin approves. With four eyes on, the first approval of an admin's request is recorded
 * (and the security team asked for a second); the approval that completes a request resets the
 * person's second factors as the admin 2FA reset does, ending every session but the one that
 * asked, and tells the person to enrol again.
 */
export async function approveRecoveryRequest(
  d: RecoveryDeps,
  admin: AdminActor,
  id: string,
): Promise<{ request: QueueItem; completed: boolean; removed: string[] }> {
  const { row, subject } = await loadForDecision(d, id)
  const decision = decideApproval({
    request: row,
    approver: { id: admin.id, role: admin.role },
    subjectRole: subject.role,
    fourEyes: d.settings.fourEyes,
    now: d.now(),
  })
  if (decision.kind === "refused") throw refusalError(decision.refusal)
  const manager = await managerOf(d, subject)
  const conflict = () =>
    new AppError("CONFLICT", "this request changed meanwhile: reload it", {
      reason: "request_changed",
    })
  let removed: string[] = []
  if (decision.kind === "first") {
    await d.database.db.transaction(async (tx) => {
      const updated = await addApproval(tx, {
        id,
        adminId: admin.id,
        now: d.now(),
        had: row.approvals.length,
      })
      if (!updated) throw conflict()
      await record(d, tx, {
        event: "admin.recovery_request_first_approval",
        ...byAdmin(admin, subject, manager),
        details: { request_id: id, approvals: updated.approvals.length, needed: decision.needed },
        dedupKey: `recovery_first_approval:${id}:${admin.id}`,
      })
    })
  } else {
    const done = await resetTwoFactor(d, admin, row.identityId, {
      keepSessionId: row.sessionId,
      recoveryRequestId: id,
      // Under the person's lock, before anything is removed: still open, with the approvals
      // this decision counted (a deny or another approval in between wins).
      beforeReset: async (tx) => {
        const now = await findRequest(tx, id, { forUpdate: true })
        if (
          !now ||
          statusAt(now, d.now()) !== "open" ||
          now.approvals.length !== row.approvals.length
        ) {
          throw conflict()
        }
      },
      afterReset: async (tx) => {
        const withMine = await addApproval(tx, {
          id,
          adminId: admin.id,
          now: d.now(),
          had: row.approvals.length,
        })
        const decided = withMine
          ? await decideRequest(tx, {
              id,
              status: "approved",
              now: d.now(),
              by: admin.id,
              note: null,
            })
          : null
        if (!decided) throw conflict()
        await record(d, tx, {
          event: "admin.recovery_request_approved",
          ...byAdmin(admin, subject, manager),
          details: {
            request_id: id,
            approved_by: decided.approvals.map((a) => a.admin_id),
          },
          dedupKey: `recovery_approved:${id}`,
        })
      },
    })
    removed = done.removed
  }
  const after = await findRequest(d.database.db, id)
  const names = await peopleByIds(
    d,
    after!.approvals.map((a) => a.admin_id),
  )
  return {
    request: await queueItem(d, after!, names),
    completed: decision.kind === "complete",
    removed,
  }
}

/** An admin denies: nothing on the account changes; the person, manager and security are told. */
export async function denyRecoveryRequest(
  d: RecoveryDeps,
  admin: AdminActor,
  id: string,
  note: string | null,
): Promise<{ request: QueueItem }> {
  const { row, subject } = await loadForDecision(d, id)
  const refusal = denialRefusal({
    request: row,
    admin: { id: admin.id, role: admin.role },
    subjectRole: subject.role,
    now: d.now(),
  })
  if (refusal) throw refusalError(refusal)
  const manager = await managerOf(d, subject)
  await d.database.db.transaction(async (tx) => {
    const decided = await decideRequest(tx, {
      id,
      status: "denied",
      now: d.now(),
      by: admin.id,
      note,
    })
    if (!decided) {
      throw new AppError("CONFLICT", "this request changed meanwhile: reload it", {
        reason: "request_changed",
      })
    }
    await record(d, tx, {
      event: "admin.recovery_request_denied",
      ...byAdmin(admin, subject, manager),
      details: { request_id: id, note },
      dedupKey: `recovery_denied:${id}`,
    })
  })
  const after = await findRequest(d.database.db, id)
  const names = await peopleByIds(
    d,
    after!.approvals.map((a) => a.admin_id),
  )
  return { request: await queueItem(d, after!, names) }
}

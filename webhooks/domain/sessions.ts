import type { Session } from "../kratos/types"
import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import type { KratosCaller } from "../kratos/caller"
import { KratosUnauthorized, type KratosPublic } from "../kratos/public"
import { posture } from "../kratos/identity"
import { appendAudit, ownChange } from "./audit"
import { enqueueFor } from "./notifications/enqueue"
import { deviceName, locate, type Location } from "./device"
import type { Actor } from "./force-password-change"
import { gateCache } from "./gate-cache"

export interface SessionView {
  id: string
  current: boolean
  device: { name: string; user_agent: string | null }
  ip: string | null
  location: Location | null
  authenticated_at: string | null
  /**
   * Kratos records no activity time: this is the latest of `authenticated_at`, `issued_at` and
   * the completion of its newest authentication method (a step-up or refresh moves it).
   */
  last_active_at: string | null
  expires_at: string | null
  aal: string | null
  methods: { method: string; aal: string | null; completed_at: string | null }[]
}

export interface SessionDeps {
  database: Database
  kratos: KratosAdmin
  kratosPublic: KratosPublic
  /** Kratos page size for `GET /sessions` (default 250; tests use a small one). */
  sessionsPageSize?: number
  /** For the Security-page link in the person's mail (optional). */
  publicUrl?: string
}

/** Kratos lists at most this many pages of other sessions (250 each) for one request. */
const PAGE_SIZE = 250
const MAX_PAGES = 20

const sessionRequired = () =>
  new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" })

/** Kratos's "no valid session" as the API's 401; anything else as it was thrown. */
async function asCaller<T>(call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    if (err instanceof KratosUnauthorized) throw sessionRequired()
    throw err
  }
}

/**
 * The caller's other active sessions (Kratos public `GET /sessions`), every page up to a cap.
 *
 * Kratos v1.3.1's `Link` header is off by one for this endpoint (`page=0` and `page=1` answer
 * the same rows, and the "next" link from the first page points at `page=1`), so following it
 * repeats one page and skips the last. Pages are requested as 1, 2, 3, … instead, until a short
 * page, with duplicates dropped by id.
 */
async function otherSessions(d: SessionDeps, caller: KratosCaller): Promise<Session[]> {
  const perPage = d.sessionsPageSize ?? PAGE_SIZE
  const byId = new Map<string, Session>()
  for (let page = 1; page <= MAX_PAGES; page++) {
    const rows = await asCaller(d.kratosPublic.sessions(caller, page, perPage))
    for (const s of rows) if (!byId.has(s.id)) byId.set(s.id, s)
    if (rows.length < perPage) break
  }
  return [...byId.values()]
}

async function view(
  s: Session,
  current: boolean,
  fallback?: { ip: string | null; userAgent: string | null },
): Promise<SessionView> {
  const devices = s.devices ?? []
  const device = devices[devices.length - 1]
  const userAgent = device?.user_agent ?? fallback?.userAgent ?? null
  const ip = device?.ip_address ?? fallback?.ip ?? null
  const methods = (s.authentication_methods ?? []).map((m) => ({
    method: m.method ?? "unknown",
    aal: m.aal ?? null,
    completed_at: m.completed_at ?? null,
  }))
  return {
    id: s.id,
    current,
    device: { name: deviceName(userAgent), user_agent: userAgent },
    ip,
    location: await locate(ip),
    authenticated_at: s.authenticated_at ?? null,
    last_active_at: latest([
      s.authenticated_at,
      s.issued_at,
      ...methods.map((m) => m.completed_at),
    ]),
    expires_at: s.expires_at ?? null,
    aal: s.authenticator_assurance_level ?? null,
    methods,
  }
}

function latest(times: (string | null | undefined)[]): string | null {
  let best: { t: number; s: string } | null = null
  for (const s of times) {
    const t = s ? Date.parse(s) : NaN
    if (!Number.isNaN(t) && (!best || t > best.t)) best = { t, s: s! }
  }
  return best ? new Date(best.t).toISOString() : null
}

/**
 * The caller's sessions: the current one first (from whoami, marked current), then the others,
 * most recently active first.
 */
export async function listMySessions(
  d: SessionDeps,
  caller: KratosCaller,
  current: Session,
  request: { ip: string | null; userAgent: string | null },
): Promise<SessionView[]> {
  const others = (await otherSessions(d, caller)).filter((s) => s.id !== current.id)
  const views = await Promise.all(others.map((s) => view(s, false)))
  views.sort((a, b) => Date.parse(b.last_active_at ?? "0") - Date.parse(a.last_active_at ?? "0"))
  return [await view(current, true, request), ...views]
}

const revokeAtKratos = (d: SessionDeps, caller: KratosCaller, id: string) =>
  asCaller(d.kratosPublic.revokeSession(caller, id))

async function audit(d: SessionDeps, actor: Actor, current: Session, revoked: SessionView[]) {
  if (revoked.length === 0) return
  const summary = await d.kratos.summary(actor.id)
  const state = summary
    ? posture(summary, { aal: current.authenticator_assurance_level ?? null })
    : {}
  await d.database.db.transaction(async (tx) => {
    for (const s of revoked) {
      const occurredAt = new Date()
      const details = {
        session_id: s.id,
        device: s.device.name,
        session_ip: s.ip,
        via: "self_service",
      }
      const entry = await appendAudit(tx, {
        event: "auth.session_revoked",
        ...ownChange(actor),
        posture: state,
        details,
        // A session is revoked once; a retried request adds nothing.
        dedupKey: `session_revoked:${s.id}`,
        occurredAt,
      })
      // The person hears of it (unless they switched that mail off).
      if (entry.inserted && summary?.email) {
        await enqueueFor(tx, {
          auditEventId: entry.eventId,
          event: "auth.session_revoked",
          subject: { id: actor.id, email: summary.email },
          details,
          occurredAt,
          ip: actor.ip,
          userAgent: actor.userAgent,
          publicUrl: d.publicUrl,
        })
      }
    }
  })
}

/**
 * Revokes one of the caller's other sessions through Kratos public (on their behalf), then
 * audits it. Their current session → 400 (sign out instead); an id that is not one of their
 * active sessions → 404.
 */
export async function revokeMySession(
  d: SessionDeps,
  caller: KratosCaller,
  actor: Actor,
  current: Session,
  sessionId: string,
): Promise<{ revoked: SessionView }> {
  if (sessionId === current.id) {
    throw new AppError(
      "BAD_REQUEST",
      "this is the session you are using: sign out instead of revoking it",
      { reason: "current_session" },
    )
  }
  const target = (await otherSessions(d, caller)).find((s) => s.id === sessionId)
  if (!target || !(await revokeAtKratos(d, caller, sessionId))) {
    throw new AppError("NOT_FOUND", "no such active session")
  }
  if (current.identity) gateCache.changing(current.identity.id)
  const revoked = await view(target, false)
  await audit(d, actor, current, [revoked])
  return { revoked }
}

/** Revokes every session of the caller but the current one, one audit entry per session. */
export async function revokeMyOtherSessions(
  d: SessionDeps,
  caller: KratosCaller,
  actor: Actor,
  current: Session,
): Promise<{ revoked: SessionView[] }> {
  const revoked: SessionView[] = []
  // A second pass catches a session signed in while the first one ran.
  for (let pass = 0; pass < 2; pass++) {
    const others = (await otherSessions(d, caller)).filter((s) => s.id !== current.id)
    if (others.length === 0) break
    for (const s of others) {
      if (await revokeAtKratos(d, caller, s.id)) revoked.push(await view(s, false))
    }
  }
  if (current.identity) gateCache.changing(current.identity.id)
  await audit(d, actor, current, revoked)
  return { revoked }
}

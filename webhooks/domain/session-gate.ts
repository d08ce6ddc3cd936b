import type { Session } from "../kratos/types"
import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { authorizedSummary } from "./authorization"
import { decideGate, type GateDecision, type RequiredAal } from "./gate"
import { gateCache } from "./gate-cache"
import { getOrgPolicyCached } from "./org-policy"
import { passwordLastChanged } from "./security-overview"

export interface SessionGateDeps {
  database: Database
  kratos: KratosAdmin
  publicUrl: string
}

/**
 * The gate's decision for a session `requireSession` resolved: role, flags and deactivation
 * from the service's record, one Kratos admin read (the credentials, which whoami does not
 * show) and the cached org policy. The password's last
 * change is read only when asked for (`rotation`) and the organisation rotates passwords: it
 * only ever adds a warning, never a refusal. Null when the identity is gone or deactivated.
 */
export async function evaluateGate(
  d: SessionGateDeps,
  session: Session,
  opts: {
    returnTo: string | null
    rotation: boolean
    cachedKratos?: boolean
    requiredAal?: RequiredAal | null
    /** The caller came with one of the owner's API keys (domain/api-keys.ts), not a session. */
    viaApiKey?: boolean
  },
): Promise<GateDecision | null> {
  const identityId = session.identity?.id
  // Role, flags and deactivation from the service's record; credentials from Kratos (for the
  // gate itself, read at most GATE_CACHE_MS ago: see gate-cache.ts).
  const readSummary = (id: string) =>
    opts.cachedKratos ? gateCache.summary(id, () => d.kratos.summary(id)) : d.kratos.summary(id)
  const found = identityId ? await authorizedSummary(d, identityId, readSummary) : null
  if (!found || found.authz.state !== "active") return null
  const { summary } = found
  const policy = await getOrgPolicyCached(d.database.db)
  return decideGate({
    session,
    summary,
    policy,
    passwordChangedAt:
      opts.rotation && policy.passwordRotationDays
        ? (await passwordLastChanged(d.database.db, summary)).at
        : null,
    publicUrl: d.publicUrl,
    returnTo: opts.returnTo,
    requiredAal: opts.requiredAal ?? null,
    viaApiKey: opts.viaApiKey ?? false,
  })
}

/** What a refused session is told, by the gate itself and by every route the gate covers. */
export function gateRefusal(decision: Extract<GateDecision, { allow: false }>): AppError {
  return new AppError("FORBIDDEN", decision.message, {
    reason: decision.reason,
    redirect_to: decision.redirectTo,
  })
}

/** A session whose identity is gone: as if there were no session. */
export function identityGone(): AppError {
  return new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" })
}

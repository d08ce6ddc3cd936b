import type { Session } from "../kratos/types"
import type { Database } from "../../db/client"
import { AppError } from "../errors"
import type { KratosAdmin } from "../kratos/admin"
import { authorizedSummary } from "./authorization"
import { decideGate, type GateDecision } from "./gate"
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
  opts: { returnTo: string | null; rotation: boolean },
): Promise<GateDecision | null> {
  const identityId = session.identity?.id
  // Role, flags and deactivation from the service's record; credentials from Kratos.
  const found = identityId ? await authorizedSummary(d, identityId) : null
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

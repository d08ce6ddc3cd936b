import type { Request, Response } from "express"
import { z } from "zod"
import type { GateDecision, RequiredAal } from "../domain/gate"
import { AppError } from "../errors"
import { gateRefusal } from "../domain/session-gate"
import { gateAnswer } from "./answers"
import { parseOr400, reply } from "./edge"

const requiredAal = z.enum(["aal1", "aal2"], "must be aal1 or aal2")

/**
 * The gate's answer for a decision, whoever it was made for (a session or an API key): the
 * identity in headers for a reverse proxy's auth sub-request, then 200 or the refusal.
 */
export function sendGateDecision(res: Response, decision: GateDecision): void {
  res.set({
    "cache-control": "no-store",
    "x-identity-id": decision.identityId,
    "x-identity-role": decision.role,
    "x-authenticator-assurance-level": decision.aal,
  })
  if (!decision.allow) throw gateRefusal(decision)
  reply(res, gateAnswer, {
    identity_id: decision.identityId,
    role: decision.role,
    aal: decision.aal,
    mfa: {
      required: decision.mfa.required,
      required_by: decision.mfa.requiredBy,
      enrolled: decision.mfa.enrolled,
      deadline: decision.mfa.deadline,
    },
    password_rotation_due: decision.passwordRotationDue,
    warnings: decision.warnings,
  })
}

/**
 * What the route behind the gate asks for: `?required_aal=` (an app) or `X-Required-AAL` (a
 * reverse proxy's sub-request); one value, `aal1` or `aal2`, else 400.
 */
export function requiredAalOf(req: Request): RequiredAal | null {
  const fromQuery = req.query.required_aal
  const fromHeader = req.headersDistinct["x-required-aal"]
  if (fromQuery === undefined && fromHeader === undefined) return null
  if (fromQuery !== undefined && fromHeader !== undefined) {
    throw new AppError("BAD_REQUEST", "send required_aal in the query or the header, not both")
  }
  const value = fromQuery ?? (fromHeader!.length === 1 ? fromHeader![0] : fromHeader)
  return parseOr400(requiredAal, value, "required_aal")
}

/** `return_to` (query) or the proxied URL (auth sub-request), only if it is on our origin. */
export function sameOriginReturnTo(req: Request, publicUrl: string): string | null {
  const candidate =
    (typeof req.query.return_to === "string" ? req.query.return_to : undefined) ??
    req.get("x-forwarded-uri") ??
    req.get("x-original-url")
  if (!candidate) return null
  try {
    const url = new URL(candidate, publicUrl)
    return url.origin === new URL(publicUrl).origin ? url.toString() : null
  } catch {
    return null
  }
}

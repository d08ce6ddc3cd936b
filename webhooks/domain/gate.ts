import type { Session } from "../kratos/types"
import type { CredentialSummary } from "../kratos/identity"
import { secondFactors } from "../kratos/identity"
import { requires2fa } from "../policy/roles"
import type { OrgPolicy } from "./org-policy"

/** The assurance a route behind the gate asks for (`?required_aal=` or `X-Required-AAL`). */
export type RequiredAal = "aal1" | "aal2"

export type GateReason = "aal2_required" | "password_change_required" | "mfa_enrollment_required"

export type GateDecision =
  | {
      allow: true
      identityId: string
      role: string
      aal: string
      mfa: {
        required: boolean
        requiredBy: "org" | "role" | null
        enrolled: boolean
        deadline: string | null
      }
      warnings: string[]
      passwordRotationDue: string | null
    }
  | {
      allow: false
      identityId: string
      role: string
      aal: string
      reason: GateReason
      message: string
      redirectTo: string
    }

/**
 * Whether a session may use the apps behind kratos-guard right now. Order matters: a person who
 * must step up does that first (the password and enrolment pages need it too), then a forced
 * password change, then a 2FA enrolment whose grace period is over.
 */
export function decideGate(input: {
  session: Session
  summary: CredentialSummary
  policy: OrgPolicy
  publicUrl: string
  returnTo: string | null
  /** When the password last changed (see passwordLastChanged); only read for rotation. */
  passwordChangedAt?: string | null
  /** What the route behind the gate needs (`aal2`: a session at AAL2; never an API key). */
  requiredAal?: RequiredAal | null
  /** An API key's call (domain/api-keys.ts): its AAL is `api_key`, the rest is the owner's. */
  viaApiKey?: boolean
  now?: Date
}): GateDecision {
  const { session, summary, policy, publicUrl } = input
  const now = input.now ?? new Date()
  const aal = input.viaApiKey ? "api_key" : (session.authenticator_assurance_level ?? "aal0")
  const base = { identityId: summary.identityId, role: summary.role, aal }
  const need = requires2fa(policy, summary.role)
  const enrolled = secondFactors(summary).length > 0
  const security = `${publicUrl}/settings?tab=security`
  const atAal2 = aal === "aal2" || aal === "aal3"

  // A key is one secret: where a route asks for a second factor it is never enough.
  if (input.requiredAal === "aal2" && input.viaApiKey) {
    return {
      ...base,
      allow: false,
      reason: "aal2_required",
      message: "This needs a sign-in with your second factor; an API key can't be used here.",
      redirectTo: `${publicUrl}/self-service/login/browser?aal=aal2`,
    }
  }
  // Like Kratos's highest_available: once a second factor exists, an AAL1 session is not enough
  // (a key was made by a session that passed this, so it stands for that sign-in).
  if (!input.viaApiKey && (input.requiredAal === "aal2" || enrolled) && !atAal2) {
    const returnTo = input.returnTo ?? security
    return {
      ...base,
      allow: false,
      reason: "aal2_required",
      message: "Confirm it's you with your second factor to continue.",
      redirectTo: `${publicUrl}/self-service/login/browser?aal=aal2&return_to=${encodeURIComponent(returnTo)}`,
    }
  }
  if (summary.metadataPublic.force_password_change?.required) {
    return {
      ...base,
      allow: false,
      reason: "password_change_required",
      message: "An administrator requires you to change your password before you continue.",
      redirectTo: `${security}&reason=force_change`,
    }
  }
  const deadline = need.required && !enrolled ? enrolmentDeadline(summary, policy) : null
  if (deadline && deadline.getTime() <= now.getTime()) {
    return {
      ...base,
      allow: false,
      reason: "mfa_enrollment_required",
      message:
        need.by === "org"
          ? "Your organisation requires two-factor authentication. Set it up to continue."
          : "Your role requires two-factor authentication. Set it up to continue.",
      redirectTo: `${security}&reason=mfa_enrollment`,
    }
  }
  const rotationDue = rotationDueAt(input.passwordChangedAt ?? null, policy)
  const warnings: string[] = []
  if (deadline) warnings.push("mfa_enrollment_pending")
  if (rotationDue && rotationDue.getTime() <= now.getTime()) warnings.push("password_rotation_due")
  return {
    ...base,
    allow: true,
    mfa: {
      required: need.required,
      requiredBy: need.by,
      enrolled,
      deadline: deadline?.toISOString() ?? null,
    },
    warnings,
    passwordRotationDue: rotationDue?.toISOString() ?? null,
  }
}

/**
 * The grace period runs from when 2FA became required for this person: their role assignment
 * (account creation when none is recorded) or, for an org-wide rule, the later of account
 * creation and the last policy change.
 */
export function enrolmentDeadline(s: CredentialSummary, policy: OrgPolicy): Date {
  const at = (v: string | null | undefined) => (v ? new Date(v).getTime() : Date.now())
  const created = at(s.createdAt)
  // When this person became covered: the earliest requirement that applies, each counted from
  // when it was switched on or when they came under it (account created, role assigned),
  // whichever is later. Other policy saves move nothing.
  const starts: number[] = []
  if (policy.require2faForEveryone) {
    starts.push(Math.max(created, policy.coverageSince.everyone?.getTime() ?? created))
  }
  if (policy.rolesRequiring2fa.includes(s.role)) {
    const assigned = at(s.metadataPublic.role_assigned_at ?? s.createdAt)
    starts.push(Math.max(assigned, policy.coverageSince[s.role]?.getTime() ?? assigned))
  }
  const since = starts.length > 0 ? Math.min(...starts) : Date.now()
  return new Date(since + policy.mfaGracePeriodHours * 3_600_000)
}

function rotationDueAt(changedAt: string | null, policy: OrgPolicy): Date | null {
  if (!policy.passwordRotationDays || !changedAt) return null
  return new Date(new Date(changedAt).getTime() + policy.passwordRotationDays * 86_400_000)
}

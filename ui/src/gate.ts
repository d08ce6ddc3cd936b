import { useEffect, useState } from "react"
import { adminRoles } from "./security/types"
import { rememberSignedIn } from "./signed-in-marker"

/** What `GET /api/auth/gate` said about the signed-in user. */
export type Gate =
  | { status: "loading" }
  | { status: "allowed"; role: string; aal: string; isAdmin: boolean }
  | {
      status: "blocked"
      reason: string
      message: string
      redirectTo: string | null
      isAdmin: boolean
    }
  | { status: "signed_out" }
  | { status: "unknown" }

/** Reasons that confine the user to the Security page until they act on it. */
export const confiningReasons = new Set(["mfa_enrollment_required", "password_change_required"])

export function securityPageFor(reason: string): string {
  if (reason === "password_change_required") return "/settings?tab=security&reason=force_change"
  if (reason === "mfa_enrollment_required") return "/settings?tab=security&reason=mfa_required"
  return "/settings?tab=security"
}

export function useGate(): Gate {
  const [gate, setGate] = useState<Gate>({ status: "loading" })
  useEffect(() => {
    let active = true
    fetch("/api/auth/gate", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(async (res) => {
        const role = res.headers.get("x-identity-role") ?? ""
        const isAdmin = adminRoles.has(role)
        if (res.ok) {
          const body = (await res.json()) as { role: string; aal: string }
          return { status: "allowed", role: body.role, aal: body.aal, isAdmin } as const
        }
        if (res.status === 401) return { status: "signed_out" } as const
        const body = (await res.json().catch(() => ({}))) as {
          error?: { reason?: string; message?: string; redirect_to?: string }
        }
        if (res.status === 403 && body.error?.reason) {
          return {
            status: "blocked",
            reason: body.error.reason,
            message: body.error.message ?? "",
            redirectTo: body.error.redirect_to ?? null,
            isAdmin,
          } as const
        }
        return { status: "unknown" } as const
      })
      .catch(() => ({ status: "unknown" }) as const)
      .then((g) => {
        if (g.status === "allowed" || g.status === "blocked") rememberSignedIn()
        if (active) setGate(g)
      })
    return () => {
      active = false
    }
  }, [])
  return gate
}

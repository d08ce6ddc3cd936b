import type { Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import { parseOr400 } from "./edge"
import { roles } from "../policy/roles"
import { setRoleByEmail } from "../domain/roles"

const grantBody = z
  .object({
    email: z.email().max(320),
    role: z.enum(roles),
    /**
     * When the person really took the role (moving people over from another directory). Only a
     * past time: it can start a 2FA grace period earlier, never extend one.
     */
    assigned_at: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .refine((d) => d.getTime() <= Date.now(), "must not be in the future")
      .optional(),
  })
  .strict()

/**
 * Operator commands (`npm run admin`), authenticated with the webhook API key, which only the
 * operator and Kratos hold. They go through the service because only it may open the
 * database (PGlite allows one process). Audited with actor `system`.
 */
export function registerInternalRoutes(router: Router, deps: Deps): void {
  router.post("/internal/roles", async (req, res) => {
    const { email, role, assigned_at } = parseOr400(grantBody, req.body, "body")
    const { identityId, ...result } = await setRoleByEmail(
      deps,
      {
        type: "system",
        id: null,
        role: null,
        ip: req.ip ?? null,
        userAgent: req.get("user-agent") ?? null,
        requestId: String(req.id),
      },
      email,
      role,
      assigned_at,
    )
    res.json({ identity_id: identityId, email, ...result })
  })
}

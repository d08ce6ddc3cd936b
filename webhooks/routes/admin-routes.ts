import type { Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import { requirePasswordChange } from "../domain/force-password-change"
import {
  requireAdmin,
  requireCsrfProtection,
  requireSession,
  sessionOf,
} from "../middleware/session"
import { actorOf } from "./auth-routes"
import { parseOr400 } from "./hook-routes"

const userParams = z.object({ id: z.uuid("user id must be a UUID") })

/** Admin API (role admin or super_admin, AAL2 session); every call is audited. */
export function registerAdminRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, sessions } = deps
  const guard = [requireCsrfProtection(config.PUBLIC_URL), requireSession(sessions), requireAdmin]

  router.post("/api/admin/users/:id/force-password-change", ...guard, async (req, res) => {
    const { id } = parseOr400(userParams, req.params, "path")
    const admin = sessionOf(req).identity!
    const result = await requirePasswordChange(
      { database, kratos, securityTeam: config.SECURITY_TEAM_EMAILS, publicUrl: config.PUBLIC_URL },
      actorOf(req, admin.id),
      id,
    )
    res.json({ required: true, set_at: result.setAt, already_required: result.alreadyRequired })
  })
}

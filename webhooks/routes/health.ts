import type { Router } from "express"
import type { Deps } from "../app"
import { readiness } from "../domain/readiness"

/**
 * `/health/alive`: the process answers. `/health/ready`: it can do its job, i.e. the database
 * and the Kratos admin API both answer; 503 with the failing checks otherwise.
 */
export function registerHealthRoutes(router: Router, deps: Deps): void {
  router.get("/health/alive", (_req, res) => {
    res.json({ status: "ok" })
  })

  router.get("/health/ready", async (_req, res) => {
    const { ok, checks } = await readiness(deps)
    res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", checks })
  })
}

import type { Router } from "express"
import type { Deps } from "../app"

/**
 * `/health/alive`: the process answers. `/health/ready`: it can do its job, i.e. the database
 * and the Kratos admin API both answer; 503 with the failing checks otherwise.
 */
export function registerHealthRoutes(router: Router, { database, kratos }: Deps): void {
  router.get("/health/alive", (_req, res) => {
    res.json({ status: "ok" })
  })

  router.get("/health/ready", async (_req, res) => {
    const [db, kratosAdmin] = await Promise.allSettled([database.ping(), kratos.ready()])
    const checks = {
      database: db.status === "fulfilled" ? "ok" : "unreachable",
      kratos: kratosAdmin.status === "fulfilled" ? "ok" : "unreachable",
    }
    const ok = db.status === "fulfilled" && kratosAdmin.status === "fulfilled"
    res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", checks })
  })
}

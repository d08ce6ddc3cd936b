import type { Database } from "../../db/client"
import type { KratosAdmin } from "../kratos/admin"

export interface Readiness {
  ok: boolean
  checks: { database: "ok" | "unreachable"; kratos: "ok" | "unreachable" }
}

/** Whether the service can do its job: the database and the Kratos admin API both answer. */
export async function readiness(deps: {
  database: Pick<Database, "ping">
  kratos: Pick<KratosAdmin, "ready">
}): Promise<Readiness> {
  const [db, kratos] = await Promise.allSettled([deps.database.ping(), deps.kratos.ready()])
  return {
    ok: db.status === "fulfilled" && kratos.status === "fulfilled",
    checks: {
      database: db.status === "fulfilled" ? "ok" : "unreachable",
      kratos: kratos.status === "fulfilled" ? "ok" : "unreachable",
    },
  }
}

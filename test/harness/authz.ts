import pino from "pino"
import { openDatabase, type Database } from "../../db/client"
import type { identityAuthz } from "../../db/schema"
import { type AuthzDeps } from "../../webhooks/domain/authorization"
import { changeAuthorization } from "../../webhooks/domain/kratos-sync"
import { createKratosAdmin } from "../../webhooks/kratos/admin"
import { stackInfo } from "./stack-info"

const opened = new Map<string, Database>()

export interface ServiceTarget {
  serviceDatabaseUrl: string
  kratosAdminUrl: string
}

function sharedStack(): ServiceTarget {
  const s = stackInfo()
  if (!s.serviceDatabaseUrl) throw new Error("setting a role needs Postgres at 127.0.0.1:5432")
  return { serviceDatabaseUrl: s.serviceDatabaseUrl, kratosAdminUrl: s.kratosAdminUrl }
}

/** The service's domain code on a stack's database and Kratos, as the service runs it. */
export function serviceDeps(target: ServiceTarget = sharedStack()): AuthzDeps {
  let database = opened.get(target.serviceDatabaseUrl)
  if (!database) {
    database = openDatabase({ databaseUrl: target.serviceDatabaseUrl, poolMax: 4 })
    opened.set(target.serviceDatabaseUrl, database)
  }
  return {
    database,
    kratos: createKratosAdmin(target.kratosAdminUrl),
    log: pino({ level: "silent" }),
  }
}

/**
 * Sets fields of a person's record in the service (the source of truth for role, manager,
 * flags, state) and brings Kratos in step, as the admin console would, without an audit entry.
 */
export async function setAuthorization(
  identityId: string,
  set: Partial<typeof identityAuthz.$inferInsert>,
  target?: ServiceTarget,
): Promise<void> {
  await changeAuthorization(
    serviceDeps(target),
    identityId,
    { by: "test", requestId: "test", source: "admin" },
    () => ({ set, result: null }),
    async () => {},
  )
}

export async function closeServiceDeps(): Promise<void> {
  const all = [...opened.values()]
  opened.clear()
  await Promise.all(all.map((d) => d.close().catch(() => {})))
}

// Every test file that sets a role lets go of the connections it opened for that.
if (typeof afterAll === "function") afterAll(closeServiceDeps)

import pino from "pino"
import { openDatabase, type Database } from "../../db/client"
import { createApp, type Deps } from "../../webhooks/app"
import { loadConfig } from "../../webhooks/config"
import { createKratosAdmin } from "../../webhooks/kratos/admin"
import { createKratosPublic } from "../../webhooks/kratos/public"
import { stackInfo } from "./stack-info"

/**
 * The service built in-process against the real Kratos and database of the running stack,
 * with settings or dependencies replaced (an unreachable database, small limits, …).
 */
export function inProcessApp(opts: {
  env?: Record<string, string>
  database?: Database
  kratosAdminUrl?: string
  /** The use cases' clock (recovery requests' expiry). */
  clock?: () => Date
}) {
  const s = stackInfo()
  const config = loadConfig({ ...s.serviceEnv, LOG_LEVEL: "silent", ...opts.env })
  const database =
    opts.database ??
    openDatabase({ databaseUrl: config.DATABASE_URL, pgliteDir: undefined, poolMax: 2 })
  const deps: Deps = {
    config,
    log: pino({ level: "silent" }),
    database,
    kratos: createKratosAdmin(opts.kratosAdminUrl ?? s.kratosAdminUrl),
    kratosPublic: createKratosPublic(config.KRATOS_PUBLIC_URL),
    clock: opts.clock,
  }
  return { app: createApp(deps), deps, close: () => database.close() }
}

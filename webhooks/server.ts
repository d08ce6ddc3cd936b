import type { Server } from "node:http"
import { isDriverWriteAfterClose, openDatabase } from "../db/client"
import { createApp } from "./app"
import { ConfigError, loadConfig } from "./config"
import { createKratosAdmin } from "./kratos/admin"
import { createKratosPublic } from "./kratos/public"
import { createDispatcher, type Dispatcher } from "./domain/notifications/dispatcher"
import { pruneHookDeliveries } from "./domain/hook-deliveries"
import { startAuditSealer } from "./domain/audit"
import { reconcileAuthorization } from "./domain/kratos-sync"
import { reconcilePendingChanges } from "./domain/reconcile-changes"
import { expireRequests } from "./domain/recovery-requests"
import { recoveryDeps } from "./routes/recovery-routes"
import { createLogger } from "./logger"
import { createEventSender } from "./domain/security-events/sender"
import { parseNetworks } from "./outbound/addresses"
import { createPoster } from "./outbound/post"

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
  const log = createLogger({
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    nodeEnv: config.NODE_ENV,
  })
  const database = openDatabase({
    databaseUrl: config.DATABASE_URL,
    pgliteDir: config.PGLITE_DIR,
    poolMax: config.DB_POOL_MAX,
  })
  // The one uncaught error that is not fatal: the Postgres driver's write to a closed
  // connection (see isDriverWriteAfterClose). A fresh pool replaces the broken one.
  process.on("uncaughtException", (err) => {
    if (isDriverWriteAfterClose(err)) {
      log.warn("a database connection closed under a pending write; opening a fresh pool")
      void database.reset()
      return
    }
    log.fatal({ err }, "uncaught exception")
    process.exit(1)
  })
  await database.migrate()
  log.info({ database: database.kind }, "database migrated")

  const kratos = createKratosAdmin(config.KRATOS_ADMIN_URL)
  const kratosPublic = createKratosPublic(config.KRATOS_PUBLIC_URL)
  const app = createApp({ config, log, database, kratos, kratosPublic })
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    log.info(
      { url: config.PUBLIC_URL, port: config.PORT, host: config.HOST },
      "kratos-guard listening",
    )
  })
  server.keepAliveTimeout = 65_000

  // Settles security changes whose post-persist hook never arrived (e.g. the service was down),
  // then compares Kratos's copy of every person's authorization state with the service's
  // record: seeds records for identities that predate it and repairs drift.
  const reconcile = async () => {
    await reconcilePendingChanges(
      { database, kratos, log, maxPasswordChangesPerHour: config.PASSWORD_CHANGES_PER_HOUR },
      { olderThanMs: config.RECONCILE_AFTER_SECONDS * 1000 },
    ).catch((err: unknown) => log.warn({ err }, "reconciling pending changes failed"))
    await reconcileAuthorization({ database, kratos, log }).catch((err: unknown) =>
      log.warn({ err }, "reconciling authorization state failed"),
    )
  }
  const reconciler = setInterval(reconcile, Math.min(60_000, config.RECONCILE_AFTER_SECONDS * 500))
  reconciler.unref()
  void reconcile()

  // Hook deliveries are for following recent flows only; every replica prunes (idempotent).
  const prune = () =>
    pruneHookDeliveries(database, config.HOOK_DELIVERY_RETENTION_DAYS)
      .then((n) => {
        if (n > 0) log.info({ deleted: n }, "old hook deliveries deleted")
      })
      .catch((err: unknown) => log.warn({ err }, "deleting old hook deliveries failed"))
  const pruner = setInterval(prune, 3_600_000)
  pruner.unref()
  void prune()

  // Open recovery requests past their expiry are closed and the person told (reads do it too).
  const recovery = recoveryDeps({ config, log, database, kratos, kratosPublic })
  const expirer = setInterval(() => {
    expireRequests(recovery).catch((err: unknown) =>
      log.warn({ err }, "expiring recovery requests failed"),
    )
  }, 60_000)
  expirer.unref()

  // Sends the notification outbox; every replica runs one (claims never overlap).
  let dispatcher: Dispatcher | null = null
  if (config.SMTP_URL) {
    dispatcher = createDispatcher({
      database,
      log: log.child({ component: "notifications" }),
      smtpUrl: config.SMTP_URL,
      from: config.MAIL_FROM,
      maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
      pollMs: config.NOTIFY_POLL_MS,
      batchSize: config.NOTIFY_BATCH_SIZE,
      concurrency: config.NOTIFY_CONCURRENCY,
      leaseSeconds: config.NOTIFY_LEASE_SECONDS,
      backoffBaseMs: config.NOTIFY_BACKOFF_BASE_MS,
    })
    dispatcher.start()
  } else {
    log.warn("SMTP_URL is not set: notifications are queued but not sent")
  }

  // Sends security events to their subscribers; every replica runs one (a subscriber's lane is
  // held by one replica at a time, so each receiver gets its events in order).
  const poster = createPoster({
    allowHttp: config.NODE_ENV !== "production",
    allowed: config.EVENT_SUBSCRIBER_ALLOWED_NETWORKS
      ? parseNetworks(config.EVENT_SUBSCRIBER_ALLOWED_NETWORKS)
      : null,
  })
  const eventSender = createEventSender({
    database,
    log: log.child({ component: "security-events" }),
    poster,
    source: config.PUBLIC_URL,
    maxAttempts: config.EVENT_DELIVERY_MAX_ATTEMPTS,
    pollMs: config.EVENT_DELIVERY_POLL_MS,
    lanes: config.EVENT_DELIVERY_LANES,
    batchSize: config.EVENT_DELIVERY_BATCH_SIZE,
    leaseSeconds: config.EVENT_DELIVERY_LEASE_SECONDS,
    timeoutMs: config.EVENT_DELIVERY_TIMEOUT_MS,
    backoffBaseMs: config.EVENT_DELIVERY_BACKOFF_BASE_MS,
  })
  eventSender.start()

  // Gives new audit entries their place in the hash chain; every replica runs one, and one at a
  // time seals (an advisory lock), so an entry waits about one interval.
  const sealer = startAuditSealer({
    database,
    log: log.child({ component: "audit-sealer" }),
    intervalMs: config.AUDIT_SEAL_INTERVAL_MS,
    // Deliveries go out once their entry is sealed: this replica's sender starts at once
    // (another replica's seals reach it within its poll interval).
    onSealed: () => eventSender.wake(),
  })

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, "shutting down: draining connections")
    clearInterval(reconciler)
    clearInterval(pruner)
    clearInterval(expirer)
    // In parallel with draining HTTP: in-flight sends finish and are marked before the pool closes.
    const backgroundStopped = Promise.all([
      (dispatcher?.stop() ?? Promise.resolve()).catch((err: unknown) =>
        log.error({ err }, "stopping the notification dispatcher failed"),
      ),
      sealer.stop(),
      eventSender
        .stop()
        .then(() => poster.close())
        .catch((err: unknown) => log.error({ err }, "stopping the event sender failed")),
    ])
    const force = setTimeout(() => {
      log.warn("connections did not drain in 10 s; closing")
      server.closeAllConnections()
    }, 10_000)
    force.unref()
    server.close(async () => {
      await backgroundStopped
      await database
        .close()
        .catch((err: unknown) => log.error({ err }, "closing the database failed"))
      log.info("stopped")
      process.exit(0)
    })
    server.closeIdleConnections()
  }
  process.on("SIGTERM", () => shutdown("SIGTERM"))
  process.on("SIGINT", () => shutdown("SIGINT"))
}

main().catch((err: unknown) => {
  console.error("kratos-guard failed to start:", err)
  process.exit(1)
})

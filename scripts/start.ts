import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import { configSchema } from "../webhooks/config"
import { DEMO_STATE_FILE } from "./demo"
import { DemoError, demoRefusal, formatDemo, seedDemo } from "./demo-tenant"
import { devServiceEnv } from "./dev-env"
import { registerDevReceiver, startEventSink } from "./event-sink"
import { startMailSink } from "./mail-sink"
import { buildUiIfStale, ROOT, startStack } from "./stack"

/**
 * `npm start`: the whole stack on embedded defaults — Kratos on SQLite, the service on PGlite
 * (or DATABASE_URL when set), a local mail sink whose inbox is served at /dev/mail, a local
 * receiver of security events whose page is at /dev/events — behind one URL. Ctrl-C stops everything. Local development only. `npm start -- --demo` also seeds
 * the demo tenant (scripts/demo-tenant.ts) and prints its accounts.
 */
const DATA = path.join(ROOT, ".data")
const PORT = Number(process.env.PORT || 4455)

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const unknown = args.filter((a) => a !== "--demo")
  if (unknown.length > 0) {
    console.error(`npm start: unknown argument ${unknown[0]} (usage: npm start [-- --demo])`)
    process.exit(2)
  }
  const demo = args.includes("--demo")
  // Checked before anything starts: no half-started stack when the demo may not run here.
  const refusal = demo ? demoRefusal(process.env) : null
  if (refusal) {
    console.error(`npm start -- --demo refused: ${refusal}`)
    process.exit(2)
  }
  const startedAt = Date.now()
  mkdirSync(DATA, { recursive: true })
  const secrets = devSecrets()
  buildUiIfStale()

  const smtpPort = Number(process.env.DEV_SMTP_PORT ?? 1025)
  const inboxPort = Number(process.env.DEV_INBOX_PORT ?? 8025)
  const sink = await startMailSink({
    smtpPort,
    httpPort: inboxPort,
    onMessage: (m) =>
      console.log(`✉  mail to ${m.to.join(", ")}: "${m.subject}" — open ${publicUrl}/dev/mail`),
  })
  const publicUrl = `http://localhost:${PORT}`
  const events = await startEventSink({ port: Number(process.env.DEV_EVENTS_PORT ?? 8026) })

  console.log("Starting Kratos and the service…")
  const stack = await startStack({
    dataDir: DATA,
    publicPort: PORT,
    kratosPublicPort: Number(process.env.KRATOS_PUBLIC_PORT ?? 4433),
    kratosAdminPort: Number(process.env.KRATOS_ADMIN_PORT ?? 4434),
    databaseUrl: process.env.DATABASE_URL || undefined,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}/?disable_starttls=true`,
    webhookApiKey: secrets.webhookApiKey,
    secrets,
    env: {
      // The networks set in this shell, if any, and the event receiver's loopback.
      ...devServiceEnv({
        mailUrl: `http://127.0.0.1:${inboxPort}`,
        eventsUrl: events.url,
        allowedNetworks: process.env.EVENT_SUBSCRIBER_ALLOWED_NETWORKS,
      }),
      ...passedThrough(),
      KRATOS_LOG_LEVEL: process.env.KRATOS_LOG_LEVEL ?? "warning",
    },
    output: "files",
  })

  // Before the demo, so its changes arrive at /dev/events as they happen.
  await registerDevReceiver({
    serviceUrl: stack.publicUrl,
    apiKey: secrets.webhookApiKey,
    sink: events,
  }).catch((err: Error) =>
    console.error(
      `The local event receiver is not subscribed (${err.message}); /dev/events stays empty.`,
    ),
  )

  if (demo) {
    try {
      const { tenant, fresh } = await seedDemo({
        serviceUrl: stack.publicUrl,
        apiKey: secrets.webhookApiKey,
        stateFile: DEMO_STATE_FILE,
        log: (line) => console.log(line),
      })
      console.log(formatDemo(tenant, fresh))
    } catch (err) {
      console.error(`The demo seed failed: ${err instanceof DemoError ? err.message : String(err)}`)
      await stack.stop()
      await Promise.all([sink.close(), events.close()])
      process.exit(1)
    }
  }
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1)
  console.log(`\n  kratos-guard is running:  ${stack.publicUrl}   (ready in ${seconds} s)\n`)
  console.log(
    `  Logs: .data/service.log, .data/kratos.log · mail: ${stack.publicUrl}/dev/mail · events: ${stack.publicUrl}/dev/events · Ctrl-C stops\n`,
  )

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log("\nStopping…")
    await stack.stop()
    await Promise.all([sink.close(), events.close()])
    process.exit(0)
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
  for (const child of [stack.kratos, stack.service]) {
    child.on("exit", (code) => {
      if (stopping) return
      console.error(`A process stopped unexpectedly (exit ${code}); see .data/*.log`)
      void stop()
    })
  }
}

/**
 * The service's own settings (webhooks/config.ts) as set in this shell, e.g.
 * `SECURITY_TEAM_EMAILS=… npm start`; the stack's ports and URLs are npm start's to set.
 */
function passedThrough(): Record<string, string> {
  const own = new Set([
    ...["HOST", "PORT", "PUBLIC_URL", "KRATOS_PUBLIC_URL", "KRATOS_ADMIN_URL"],
    ...["KRATOS_WEBHOOK_API_KEY", "DATABASE_URL", "PGLITE_DIR", "SMTP_URL", "DEV_MAIL_URL"],
    ...["DEV_EVENTS_URL", "EVENT_SUBSCRIBER_ALLOWED_NETWORKS"],
  ])
  const names = Object.keys(configSchema.shape).filter((n) => !own.has(n))
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])))
}

/** Secrets for local development, made once and kept in .data (gitignored). */
function devSecrets(): { webhookApiKey: string; cookie: string; cipher: string } {
  const file = path.join(DATA, "dev-secrets.json")
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"))
  const s = {
    webhookApiKey: randomBytes(32).toString("hex"),
    cookie: randomBytes(32).toString("hex"),
    cipher: randomBytes(16).toString("hex"),
  }
  writeFileSync(file, JSON.stringify(s), { mode: 0o600 })
  return s
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})

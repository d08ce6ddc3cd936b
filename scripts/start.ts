import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import { startMailSink } from "./mail-sink"
import { buildUiIfStale, ROOT, startStack } from "./stack"

/**
 * `npm start`: the whole stack on embedded defaults — Kratos on SQLite, the service on PGlite
 * (or DATABASE_URL when set), a local mail sink whose inbox is served at /dev/mail — behind
 * one URL. Ctrl-C stops everything. Local development only.
 */
const DATA = path.join(ROOT, ".data")
const PORT = Number(process.env.PORT ?? 4455)

async function main(): Promise<void> {
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
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      KRATOS_LOG_LEVEL: process.env.KRATOS_LOG_LEVEL ?? "warning",
      DEV_MAIL_URL: `http://127.0.0.1:${inboxPort}`,
    },
    output: "files",
  })

  console.log(`\n  kratos-guard is running:  ${stack.publicUrl}\n`)
  console.log(
    `  Logs: .data/service.log, .data/kratos.log · mail: ${stack.publicUrl}/dev/mail · Ctrl-C stops\n`,
  )

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.log("\nStopping…")
    await stack.stop()
    await sink.close()
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

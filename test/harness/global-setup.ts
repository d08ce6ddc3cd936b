import { randomBytes } from "node:crypto"
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import path from "node:path"
import {
  buildServiceBundle,
  buildUiIfStale,
  freePort,
  ROOT,
  startStack,
  type Stack,
} from "../../scripts/stack"
import { createDatabases, SECURITY_TEAM, TEST_POSTGRES_ADMIN_URL } from "./databases"
import { SERVICE_BUNDLE_ENV, STACK_FILE_ENV, type StackInfo } from "./stack-info"

type Started = { stack: Stack; dropDatabases: () => Promise<void> }
const started = globalThis as { __stacks?: Started[] }

/**
 * Starts the real stack once per `jest` run and worker: Kratos v1.3.1 (built if needed) and the
 * service, on free ports, each on throw-away Postgres databases made for this run. Each jest
 * worker gets a stack of its own (stackInfo() picks it by JEST_WORKER_ID), so test files that
 * run at the same time never share an organisation policy, a rate limit or an inbox. Without
 * Postgres it stops at once: most tests read the service's database (`npm test` starts a
 * Postgres when none answers).
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  // Jest runs the setup once per project that names it: the integration and browser tests
  // share one set of stacks.
  if (started.__stacks) return
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`
  const outDir = path.join(ROOT, "test-output")
  // Stack folders (logs, rendered config) are kept for a look after a failure; earlier runs'
  // are removed.
  mkdirSync(outDir, { recursive: true })
  for (const old of readdirSync(outDir)) {
    const p = path.join(outDir, old)
    if (old.startsWith("stack-") && statSync(p).mtimeMs < Date.now() - 15 * 60_000) {
      rmSync(p, { recursive: true, force: true })
    }
  }
  buildUiIfStale()
  // Every stack of the run (these and the private ones, in the workers) runs this bundle.
  process.env[SERVICE_BUNDLE_ENV] = buildServiceBundle()
  const workers = Math.max(1, globalConfig.maxWorkers || 1)
  const results = await Promise.allSettled(
    Array.from({ length: workers }, (_, i) =>
      startTestStack(workers === 1 ? runId : `${runId}_w${i + 1}`, outDir),
    ),
  )
  started.__stacks = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.started] : []))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected")
  if (failed) throw failed.reason
  process.env[STACK_FILE_ENV] = results
    .map((r) => (r as PromiseFulfilledResult<{ file: string }>).value.file)
    .join(path.delimiter)
}

async function startTestStack(
  runId: string,
  outDir: string,
): Promise<{ started: Started; file: string }> {
  const dataDir = path.join(outDir, `stack-${runId}`)
  mkdirSync(dataDir, { recursive: true })

  const pg = await createDatabases(runId)
  if (!pg)
    throw new Error(
      `no Postgres at ${TEST_POSTGRES_ADMIN_URL.replace(/\/\/[^@/]*@/, "//")}: run the tests with npm test (it starts one when none answers) or set TEST_POSTGRES_URL`,
    )
  const [publicPort, kratosPublicPort, kratosAdminPort, smtpPort, mailHttpPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const webhookApiKey = randomBytes(32).toString("hex")

  const stack = await startStack({
    dataDir,
    publicPort,
    kratosPublicPort,
    kratosAdminPort,
    kratosDsn: pg.kratosUrl,
    kratosMigrated: pg.kratosMigrated,
    serviceBundle: process.env[SERVICE_BUNDLE_ENV],
    databaseUrl: pg.serviceUrl,
    // A real SMTP server process (the dev mail sink) for Kratos's courier and the service's
    // notifications; tests read what it received at stackInfo().mailMessagesUrl.
    smtpUrl: `smtp://127.0.0.1:${smtpPort}/?disable_starttls=true`,
    mailSink: { smtpPort, httpPort: mailHttpPort },
    webhookApiKey,
    secrets: { cookie: randomBytes(32).toString("hex"), cipher: randomBytes(16).toString("hex") },
    env: {
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
      KRATOS_LOG_LEVEL: "info",
      KRATOS_BCRYPT_COST: "4",
      SECURITY_TEAM_EMAILS: SECURITY_TEAM.join(","),
      NOTIFY_POLL_MS: "200",
      // Security event receivers in tests listen on loopback.
      EVENT_SUBSCRIBER_ALLOWED_NETWORKS: "127.0.0.1/32",
      EVENT_DELIVERY_BACKOFF_BASE_MS: "100",
      EVENT_DELIVERY_LEASE_SECONDS: "5",
    },
    output: "files",
  })

  const info: StackInfo = {
    runId,
    dataDir,
    publicUrl: stack.publicUrl,
    kratosPublicUrl: stack.kratosPublicUrl,
    kratosAdminUrl: stack.kratosAdminUrl,
    webhookApiKey,
    serviceDatabaseUrl: pg.serviceUrl,
    serviceEnv: stack.serviceEnv,
    mailMessagesUrl: stack.mailSink?.messagesUrl ?? null,
  }
  const file = path.join(dataDir, "stack.json")
  writeFileSync(file, JSON.stringify(info, null, 2))
  return { started: { stack, dropDatabases: pg.drop }, file }
}

import { randomBytes } from "node:crypto"
import path from "node:path"
import { freePort, ROOT, startStack, type StackOptions } from "../../scripts/stack"
import { createDatabases } from "./databases"
import { SERVICE_BUNDLE_ENV } from "./stack-info"

/**
 * A stack of its own for a test that stops the service or rewires Kratos, so the shared stack
 * stays untouched. Needs Postgres (the test reads the service database).
 *
 * With `mailSink` it also runs its own SMTP sink process (both Kratos and the service send to
 * it, and its inbox is at /dev/mail as under `npm start`); `mailSink: "down"` leaves it stopped
 * until `stack.mailSink.start()`.
 */
export async function startPrivateStack(
  opts: Pick<StackOptions, "mutateKratosConfig" | "env" | "kratosDev" | "serviceBundle"> & {
    mailSink?: "up" | "down"
    /** The service's database (e.g. a Postgres of the test's own) instead of a throw-away one. */
    serviceDatabaseUrl?: string
    /** Where the service reaches Kratos admin, given Kratos admin's URL (e.g. through a proxy). */
    serviceKratosAdminUrl?: (kratosAdminUrl: string) => string
  } = {},
) {
  const runId = `p${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`
  const pg = await createDatabases(runId)
  if (!pg) throw new Error("this test needs Postgres at 127.0.0.1:5432")
  const publicPort = await freePort()
  const smtpPort = await freePort()
  const kratosAdminPort = await freePort()
  const inboxPort = await freePort()
  const serviceDatabaseUrl = opts.serviceDatabaseUrl ?? pg.serviceUrl
  try {
    const stack = await startStack({
      dataDir: path.join(ROOT, "test-output", `stack-${runId}`),
      publicPort,
      kratosPublicPort: await freePort(),
      kratosAdminPort,
      kratosDsn: pg.kratosUrl,
      kratosMigrated: pg.kratosMigrated,
      databaseUrl: serviceDatabaseUrl,
      serviceKratosAdminUrl: opts.serviceKratosAdminUrl?.(`http://127.0.0.1:${kratosAdminPort}`),
      smtpUrl: `smtp://127.0.0.1:${smtpPort}/?disable_starttls=true`,
      ...(opts.mailSink
        ? {
            mailSink: {
              smtpPort,
              httpPort: inboxPort,
              startDown: opts.mailSink === "down",
            },
          }
        : {}),
      webhookApiKey: randomBytes(32).toString("hex"),
      secrets: { cookie: randomBytes(32).toString("hex"), cipher: randomBytes(16).toString("hex") },
      env: {
        LOG_LEVEL: "info",
        LOG_PRETTY: "false",
        KRATOS_BCRYPT_COST: "4",
        ...(opts.mailSink ? { DEV_MAIL_URL: `http://127.0.0.1:${inboxPort}` } : {}),
        ...opts.env,
      },
      output: "files",
      mutateKratosConfig: opts.mutateKratosConfig,
      kratosDev: opts.kratosDev,
      serviceBundle: opts.serviceBundle ?? process.env[SERVICE_BUNDLE_ENV],
    })
    return {
      stack,
      serviceDatabaseUrl,
      urls: { publicUrl: stack.publicUrl, kratosAdminUrl: stack.kratosAdminUrl },
      stop: async () => {
        await stack.stop()
        await pg.drop()
      },
    }
  } catch (err) {
    await pg.drop()
    throw err
  }
}

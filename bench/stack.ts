import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import path from "node:path"
import { ROOT, type StackOptions } from "../scripts/stack"
import { startPrivateStack } from "../test/harness/private-stack"
import { STACK_FILE_ENV, type StackInfo } from "../test/harness/stack-info"

export type BenchStack = Awaited<ReturnType<typeof startBenchStack>>

/**
 * A stack of its own for a benchmark: real Kratos and the service on throw-away Postgres
 * databases, with its own SMTP sink process. It is also made the harness's current stack, so
 * the test helpers (registration, TOTP, staff sessions) work against it.
 */
export async function startBenchStack(
  opts: { env?: Record<string, string> } & Pick<StackOptions, "mutateKratosConfig"> = {},
) {
  const p = await startPrivateStack({
    mailSink: "up",
    serviceBundle: serviceBundle(),
    mutateKratosConfig: opts.mutateKratosConfig,
    env: {
      // The service logs at warn in every benchmark (request logs would measure pino).
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
      KRATOS_LOG_LEVEL: process.env.BENCH_KRATOS_LOG_LEVEL ?? "warning",
      PASSWORD_CHANGES_PER_HOUR: "1000",
      // One session makes every submit of a long run; it must stay privileged throughout.
      KRATOS_PRIVILEGED_SESSION_MAX_AGE: "24h",
      LOGIN_MAX_FAILURES_PER_IP: "100000",
      // Benchmark 10's event receivers listen on loopback.
      EVENT_SUBSCRIBER_ALLOWED_NETWORKS: "127.0.0.1/32",
      // BENCH_CPU_PROF=<dir>: the service writes a V8 CPU profile there when it stops.
      ...(process.env.BENCH_CPU_PROF
        ? {
            NODE_OPTIONS: `--require ${path.join(__dirname, "cpu-profiler.cjs")}`,
            BENCH_CPU_PROF: process.env.BENCH_CPU_PROF,
          }
        : {}),
      ...opts.env,
    },
  })
  const s = p.stack
  const info: StackInfo = {
    runId: path.basename(path.dirname(s.kratosConfigPath)),
    dataDir: path.dirname(s.kratosConfigPath),
    publicUrl: s.publicUrl,
    kratosPublicUrl: s.kratosPublicUrl,
    kratosAdminUrl: s.kratosAdminUrl,
    webhookApiKey: s.serviceEnv.KRATOS_WEBHOOK_API_KEY!,
    serviceDatabaseUrl: p.serviceDatabaseUrl,
    serviceEnv: s.serviceEnv,
    mailMessagesUrl: s.mailSink?.messagesUrl ?? null,
  }
  const file = path.join(info.dataDir, "stack.json")
  writeFileSync(file, JSON.stringify(info, null, 2))
  const use = () => {
    process.env[STACK_FILE_ENV] = file
  }
  use()
  return {
    ...p,
    info,
    /** Makes this the stack the test helpers talk to (the newest started one is). */
    use,
    /** The service process id, for RSS samples. */
    servicePid: () => s.service.pid!,
  }
}

let bundle: string | undefined

/**
 * The service as production runs it: the esbuild bundle under plain node (tsx would add its
 * compiler's memory and start-up to every figure). Built once per benchmark run.
 */
function serviceBundle(): string {
  // BENCH_SERVICE_BUNDLE=<server.js>: a bundle built elsewhere (another commit), to compare two
  // builds in turn on the same machine.
  if (process.env.BENCH_SERVICE_BUNDLE) return process.env.BENCH_SERVICE_BUNDLE
  if (!bundle) {
    execFileSync("npm", ["run", "--silent", "build:service"], { cwd: ROOT, stdio: "inherit" })
    bundle = path.join(ROOT, "dist", "webhooks", "server.js")
  }
  return bundle
}

/** `npx tsx bench/<file>.ts`: one benchmark on a bench stack of its own, stopped afterwards. */
export function runAlone(
  bench: (p: BenchStack) => Promise<unknown>,
  opts: Parameters<typeof startBenchStack>[0] = {},
): void {
  void (async () => {
    const p = await startBenchStack(opts)
    try {
      await bench(p)
    } finally {
      await p.stop()
    }
  })().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}

import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs"
import net from "node:net"
import path from "node:path"
import { parse, stringify } from "yaml"
import { renderKratosConfig } from "../kratos/render-config"

export const ROOT = path.resolve(__dirname, "..")

/** Builds (once per machine and version) and returns the path of the pinned Kratos binary. */
export function ensureKratosBinary(): string {
  if (process.env.KRATOS_BIN) return process.env.KRATOS_BIN
  return execFileSync("bash", [path.join(ROOT, "kratos/build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim()
}

/** A free TCP port on loopback, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/**
 * V8 flags of the built service, as the image runs it (webhooks/Dockerfile's NODE_OPTIONS holds
 * the same). Left to itself V8 lets the heap grow under load rather than collect (RSS 190-250
 * MB after the benchmarks' loads, for a live heap of a few tens of MB); a 4 MB semi-space and a
 * 128 MB old space keep it near 120 MB (see the README's Benchmarks).
 */
export const SERVICE_NODE_FLAGS = (
  process.env.SERVICE_NODE_FLAGS ?? "--max-semi-space-size=4 --max-old-space-size=128"
)
  .split(" ")
  .filter(Boolean)

export interface StackOptions {
  /** Folder for rendered config, SQLite, PGlite and logs. */
  dataDir: string
  publicHost?: string
  publicPort: number
  kratosPublicPort: number
  kratosAdminPort: number
  /** Kratos DSN; SQLite in dataDir when absent. */
  kratosDsn?: string
  /** Service database; PGlite in dataDir when absent. */
  databaseUrl?: string
  /** SMTP for Kratos's courier and the service's notifications (ignored with `mailSink`). */
  smtpUrl: string
  /**
   * Runs the dev mail sink (scripts/mail-sink.ts) as a process of its own on these ports and
   * points SMTP_URL of both Kratos and the service at it. `startDown` leaves it stopped
   * (start it later with `stack.mailSink.start()`) to test delivery while SMTP is down.
   */
  mailSink?: { smtpPort: number; httpPort: number; keep?: number; startDown?: boolean }
  webhookApiKey: string
  secrets: { cookie: string; cipher: string }
  /** Extra environment for both processes (e.g. KRATOS_PRIVILEGED_SESSION_MAX_AGE). */
  env?: Record<string, string>
  /** "inherit" streams child output to this terminal; otherwise logs go to files in dataDir. */
  output: "inherit" | "files"
  kratosDev?: boolean
  /** Tests only: edits the rendered Kratos config (e.g. to send some hooks nowhere). */
  mutateKratosConfig?: (config: Record<string, unknown>) => void
  /** Tests only: where the service reaches the Kratos admin API (e.g. a proxy a test can cut). */
  serviceKratosAdminUrl?: string
  /**
   * Runs the built bundle (`dist/webhooks/server.js`, as the image does) with plain node
   * instead of the TypeScript source through tsx; the caller builds it first.
   */
  serviceBundle?: string
  /** Tests only: the Kratos database is a copy of a migrated one, so `migrate sql` is skipped. */
  kratosMigrated?: boolean
}

export interface Stack {
  publicUrl: string
  kratosPublicUrl: string
  kratosAdminUrl: string
  kratosConfigPath: string
  kratosBin: string
  serviceEnv: Record<string, string>
  kratos: ChildProcess
  /** The current service process (a new one after `restartService`). */
  readonly service: ChildProcess
  /** Starts the service again (after it was killed or stopped) and waits until it is ready. */
  restartService(): Promise<void>
  /**
   * Tests only: one more service process (a replica) on the same database, Kratos and SMTP,
   * listening on `port`; Kratos's hooks keep going to the first one.
   */
  startReplica(port: number): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }>
  mailSink: MailSinkProcess | null
  stop(): Promise<void>
}

export interface MailSinkProcess {
  smtpUrl: string
  /** The sink's JSON inbox: newest first. */
  messagesUrl: string
  running(): boolean
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The dev mail sink as its own process (a real SMTP server on loopback, inbox at
 * `/messages`), so tests talk to it over the network exactly like to a production relay.
 */
export function mailSinkProcess(o: {
  smtpPort: number
  httpPort: number
  keep?: number
  dataDir?: string
  output?: "inherit" | "files"
}): MailSinkProcess {
  let child: ChildProcess | null = null
  const messagesUrl = `http://127.0.0.1:${o.httpPort}/messages`
  const script =
    `require(${JSON.stringify(path.join(ROOT, "scripts/mail-sink.ts"))})` +
    `.startMailSink(${JSON.stringify({ smtpPort: o.smtpPort, httpPort: o.httpPort, keep: o.keep ?? 20_000 })})` +
    `.then(() => console.log("mail sink ready"), (e) => { console.error(e); process.exit(1) })`
  return {
    smtpUrl: `smtp://127.0.0.1:${o.smtpPort}/?disable_starttls=true`,
    messagesUrl,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return
      child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
        cwd: ROOT,
        env: pathEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      })
      if (o.output === "inherit") {
        child.stdout?.pipe(process.stdout)
        child.stderr?.pipe(process.stderr)
      } else if (o.dataDir) {
        const out = createWriteStream(path.join(o.dataDir, "mail-sink.log"), { flags: "a" })
        child.stdout?.pipe(out)
        child.stderr?.pipe(out)
      } else {
        child.stdout?.resume()
        child.stderr?.resume()
      }
      await waitFor(messagesUrl, child, 30_000)
    },
    async stop() {
      if (child) await terminate(child)
      child = null
    },
  }
}

export async function startStack(o: StackOptions): Promise<Stack> {
  mkdirSync(o.dataDir, { recursive: true })
  const host = o.publicHost ?? "localhost"
  const publicUrl = `http://${host}:${o.publicPort}`
  const kratosPublicUrl = `http://127.0.0.1:${o.kratosPublicPort}`
  const kratosAdminUrl = `http://127.0.0.1:${o.kratosAdminPort}`
  const hooksUrl = `http://127.0.0.1:${o.publicPort}`
  const mailSink = o.mailSink
    ? mailSinkProcess({ ...o.mailSink, dataDir: o.dataDir, output: o.output })
    : null
  const smtpUrl = mailSink?.smtpUrl ?? o.smtpUrl

  const kratosBin = ensureKratosBinary()
  const kratosConfigPath = path.join(o.dataDir, "kratos.yml")
  let rendered = renderKratosConfig({
    ...o.env,
    PUBLIC_URL: publicUrl,
    HOOKS_URL: hooksUrl,
    KRATOS_ADMIN_URL: kratosAdminUrl,
    KRATOS_WEBHOOK_API_KEY: o.webhookApiKey,
    KRATOS_SECRET_COOKIE: o.secrets.cookie,
    KRATOS_SECRET_CIPHER: o.secrets.cipher,
    SMTP_URL: smtpUrl,
  })
  if (o.mutateKratosConfig) {
    const cfg = parse(rendered) as Record<string, unknown>
    o.mutateKratosConfig(cfg)
    rendered = stringify(cfg)
  }
  writeFileSync(kratosConfigPath, rendered, { mode: 0o600 })
  const kratosEnv = {
    ...pathEnv(),
    DSN: o.kratosDsn ?? `sqlite://${path.join(o.dataDir, "kratos.sqlite")}?_fk=true&mode=rwc`,
    SERVE_PUBLIC_PORT: String(o.kratosPublicPort),
    SERVE_PUBLIC_HOST: "127.0.0.1",
    SERVE_ADMIN_PORT: String(o.kratosAdminPort),
    SERVE_ADMIN_HOST: "127.0.0.1",
  }
  if (!o.kratosMigrated) {
    execFileSync(kratosBin, ["migrate", "sql", "-e", "--yes", "-c", kratosConfigPath], {
      env: kratosEnv,
      stdio: ["ignore", "ignore", "pipe"],
    })
  }

  const serviceEnv: Record<string, string> = {
    ...o.env,
    HOST: "127.0.0.1",
    PORT: String(o.publicPort),
    PUBLIC_URL: publicUrl,
    KRATOS_PUBLIC_URL: kratosPublicUrl,
    KRATOS_ADMIN_URL: o.serviceKratosAdminUrl ?? kratosAdminUrl,
    KRATOS_WEBHOOK_API_KEY: o.webhookApiKey,
    SMTP_URL: smtpUrl,
    ...(o.databaseUrl
      ? { DATABASE_URL: o.databaseUrl }
      : { PGLITE_DIR: path.join(o.dataDir, "pglite") }),
  }

  if (mailSink && !o.mailSink?.startDown) await mailSink.start()
  const kratosArgs = ["serve", "-c", kratosConfigPath, "--watch-courier", "--sqa-opt-out"]
  if (o.kratosDev ?? true) kratosArgs.push("--dev")
  const kratos = launch("kratos", kratosBin, kratosArgs, kratosEnv, o)
  const launchService = (name = "service", env: Record<string, string> = {}) =>
    launch(
      name,
      process.execPath,
      o.serviceBundle
        ? [...SERVICE_NODE_FLAGS, o.serviceBundle]
        : ["--import", "tsx", path.join(ROOT, "webhooks/server.ts")],
      {
        ...pathEnv(),
        ...(o.serviceBundle ? { MIGRATIONS_DIR: path.join(ROOT, "db/migrations") } : {}),
        ...serviceEnv,
        ...env,
      },
      o,
    )
  let service = launchService()

  const stop = async () => {
    await Promise.all([terminate(service), terminate(kratos), mailSink?.stop()])
  }
  try {
    await Promise.all([
      waitFor(`${kratosAdminUrl}/admin/health/ready`, kratos, 60_000),
      waitFor(`${publicUrl}/health/ready`, service, 60_000),
    ])
  } catch (err) {
    await stop()
    throw err
  }
  return {
    publicUrl,
    kratosPublicUrl,
    kratosAdminUrl,
    kratosConfigPath,
    kratosBin,
    serviceEnv,
    kratos,
    get service() {
      return service
    },
    async restartService() {
      await terminate(service)
      service = launchService()
      await waitFor(`${publicUrl}/health/ready`, service, 60_000)
    },
    async startReplica(port) {
      const replica = launchService(`service-${port}`, { PORT: String(port) })
      const url = `http://127.0.0.1:${port}`
      try {
        await waitFor(`${url}/health/ready`, replica, 60_000)
      } catch (err) {
        await terminate(replica)
        throw err
      }
      return { url, process: replica, stop: () => terminate(replica) }
    },
    mailSink,
    stop,
  }
}

function pathEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ", "NODE_OPTIONS"]
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])))
}

function launch(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  o: StackOptions,
): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env,
    stdio: o.output === "inherit" ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
  })
  if (o.output === "files") {
    const out = createWriteStream(path.join(o.dataDir, `${name}.log`), { flags: "a" })
    child.stdout?.pipe(out)
    child.stderr?.pipe(out)
  }
  return child
}

/** Polls a URL until it answers 2xx; fails early if the process exits. */
export async function waitFor(
  url: string,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ""
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`${url}: process exited with ${child.exitCode ?? child.signalCode}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`)
}

export function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })
}

/** Builds ui/dist when it is missing or older than any file under ui/. */
export function buildUiIfStale(): void {
  const index = path.join(ROOT, "ui/dist/index.html")
  // The UI also imports shared modules from webhooks/ (password rules, refusal texts, pages).
  const newest = Math.max(
    newestMtime(path.join(ROOT, "ui")),
    newestMtime(path.join(ROOT, "webhooks")),
  )
  if (existsSync(index) && newest <= statSync(index).mtimeMs) return
  console.log("Building the UI…")
  execFileSync("npm", ["run", "--silent", "build:ui"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    // A production build whoever asks: jest sets NODE_ENV=test, and Vite would then keep
    // React's development code in the bundle.
    env: { ...process.env, NODE_ENV: "production", VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
  })
}

/**
 * Builds the service's bundle (`npm run build:service`, what the image runs) and answers its
 * path. Tests start their stacks on it: plain node loads it in half the CPU time tsx takes to
 * load the source, and a run starts some forty services.
 */
export function buildServiceBundle(): string {
  execFileSync("npm", ["run", "--silent", "build:service"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  })
  return path.join(ROOT, "dist", "webhooks", "server.js")
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "dist" || e.name === "node_modules") continue
    const p = path.join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import postgres from "postgres"
import { freePort, ROOT } from "../scripts/stack"
import { registerNative } from "../test/harness/kratos"
import { SEAL_INTERVAL_MS } from "../webhooks/domain/audit"
import { hookAuthorization } from "../webhooks/middleware/hook-auth"
import { FIXTURE_DIR, PLACEHOLDERS } from "./capture-fixtures"
import {
  cpuMs,
  figure,
  printFigure,
  round,
  runLoad,
  sleep,
  type Figure,
  type LoadResult,
} from "./lib"
import { runAlone, type BenchStack } from "./stack"
import { hookUrl, settle } from "./webhooks"

/**
 * Benchmark 9: scaling out. The post-persist (password change) and login hooks, recorded
 * payloads as in benchmark 2, at the highest rate CONNECTIONS connections reach: first on the
 * stack's one service, then on REPLICAS replicas of the same bundle on the same database, each
 * with CONNECTIONS connections of its own from one load process; the two take turns twice and
 * the better run of each is kept. Bar 3: total capacity of the
 * replicas ≥ 2.5 × one, and `npm run audit:verify` still finds the chain intact afterwards.
 *
 * Where the time goes is sampled during every run: the CPU each replica, Kratos and the whole
 * machine used, and every SAMPLE_MS what the service database's active backends wait on
 * (pg_stat_activity), counting those that wait for the audit chain's lock apart. A machine
 * with fewer cores than replicas caps the ratio whatever the code does; the output says so.
 */
const BENCH = "9 scale-out"
const REPLICAS = 3
const RATIO = 2.5
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5)
const CONNECTIONS = 16
const IDENTITIES = 20
const SAMPLE_MS = 50
export const SCALE_OUT_HOOKS = ["settings.password.post", "login.password"]

interface Profile {
  /** CPU of each service replica over the run, in cores (1 = one core busy throughout). */
  replicaCores: number[]
  kratosCores: number
  /** Share of the machine's CPU time busy (all processes, every core). */
  machineBusy: number
  /** Samples of the service database's backends: what each active one waited on, counted. */
  waits: Record<string, number>
  /** Mean number of backends waiting for the audit chain's lock, and the share of samples with any. */
  chainWaitersMean: number
  chainWaitSampleShare: number
  /** The longest any entry was seen unsealed (ms), and the most unsealed at once; null on a build without the sealer. */
  unsealedMaxMs: number | null
  unsealedMax: number | null
  samples: number
}

interface Run {
  load: LoadResult
  profile: Profile
}

export async function runScaleOutBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: Record<string, { one: Run; many: Run }>
}> {
  const identities: string[] = []
  for (let i = 0; i < IDENTITIES; i++) {
    identities.push((await registerNative(undefined, undefined, p.urls)).identityId)
  }
  const headers = {
    "content-type": "application/json",
    authorization: hookAuthorization(p.info.webhookApiKey),
  }
  const fresh = randomUUID()
  const figures: Figure[] = []
  const raw: Record<string, { one: Run; many: Run }> = {}
  const cores = os.cpus().length
  console.log(
    `  ${cores} CPUs on this machine: ${REPLICAS} replicas, Kratos, Postgres and the load ` +
      `generator share them${cores < REPLICAS + 1 ? " (the ratio is capped by CPU long before the bar)" : ""}`,
  )

  const specFor = (hook: string) => {
    const template = readFileSync(path.join(FIXTURE_DIR, `${hook}.json`), "utf8")
      .split(PLACEHOLDERS.session)
      .join(randomUUID())
    const bodies = identities.map((id) =>
      template.split(PLACEHOLDERS.identity).join(id).split(PLACEHOLDERS.flow).join(fresh),
    )
    return {
      url: hookUrl(p.info.publicUrl, hook),
      method: "POST" as const,
      headers,
      bodies,
      freshUuid: fresh,
      connections: CONNECTIONS,
      duration: SECONDS,
      warmup: 100,
    }
  }
  const measure = async (hook: string, pids: number[], targets?: string[]): Promise<Run> => {
    await settle(p.serviceDatabaseUrl)
    const profiler = await startProfiler(p.serviceDatabaseUrl, pids, p.stack.kratos.pid!)
    const load = await runLoad({ ...specFor(hook), targets })
    const profile = await profiler.stop()
    if (load.latency.n !== load.requests) {
      throw new Error(`${hook} answered non-2xx under load: ${JSON.stringify(load.statusCodes)}`)
    }
    return { load, profile }
  }

  const replicas = [] as Awaited<ReturnType<typeof p.stack.startReplica>>[]
  try {
    // The other replicas run throughout (idle while the first one is measured alone), and the
    // two sides take turns twice, the better run of each kept, so a change in the machine's
    // other load moves both alike.
    for (let i = 1; i < REPLICAS; i++) replicas.push(await p.stack.startReplica(await freePort()))
    const targets = [p.info.publicUrl, ...replicas.map((r) => r.url)]
    const pids = [p.servicePid(), ...replicas.map((r) => r.process.pid!)]
    const best = (runs: Run[]) => runs.reduce((a, b) => (b.load.rps > a.load.rps ? b : a))
    for (const hook of SCALE_OUT_HOOKS) {
      const runs = { one: [] as Run[], many: [] as Run[] }
      for (const side of ["one", "many", "many", "one"] as const) {
        runs[side].push(
          side === "one"
            ? await measure(hook, [p.servicePid()])
            : await measure(hook, pids, targets),
        )
      }
      const one = best(runs.one)
      const many = best(runs.many)
      raw[hook] = { one, many }
      const ratio = many.load.rps / one.load.rps
      const added = [
        figure(BENCH, `${hook} one replica`, one.load.rps, "req/s", undefined, describe(one)),
        figure(
          BENCH,
          `${hook} ${REPLICAS} replicas`,
          many.load.rps,
          "req/s",
          undefined,
          describe(many),
        ),
        figure(
          BENCH,
          `${hook} ${REPLICAS} replicas / one`,
          ratio,
          "x",
          { op: ">=", limit: RATIO },
          `${many.load.rps} vs ${one.load.rps} req/s on ${cores} CPUs`,
        ),
      ]
      if (many.profile.unsealedMaxMs !== null) {
        added.push(
          figure(
            BENCH,
            `${hook}: longest an entry stayed unsealed`,
            Math.max(...[...runs.one, ...runs.many].map((r) => r.profile.unsealedMaxMs ?? 0)),
            "ms",
            undefined,
            `in any of the 4 runs, from the time the hook stamped on it (before its transaction), ` +
              `sampled every ${SAMPLE_MS} ms; each replica's sealer runs every ${SEAL_INTERVAL_MS} ms`,
          ),
        )
      }
      added.forEach(printFigure)
      figures.push(...added)
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop()))
  }

  const verified = await auditVerify(p.serviceDatabaseUrl)
  const check = figure(
    BENCH,
    "audit:verify after the load",
    verified.code === 0 ? 1 : 0,
    "",
    { op: ">=", limit: 1 },
    verified.output,
  )
  printFigure(check)
  figures.push(check)
  return { figures, raw }
}

/** One line of where the time went in a run. */
function describe(r: Run): string {
  const pr = r.profile
  const active = Object.values(pr.waits).reduce((a, b) => a + b, 0)
  const top = Object.entries(pr.waits)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k} ${Math.round((v / Math.max(1, active)) * 100)}%`)
    .join(", ")
  return (
    `service CPU ${pr.replicaCores.map((c) => round(c)).join(" + ")} cores, ` +
    `Kratos ${round(pr.kratosCores)}, machine ${Math.round(pr.machineBusy * 100)}% busy; ` +
    `chain-lock waiters ${round(pr.chainWaitersMean)} on average, in ` +
    `${Math.round(pr.chainWaitSampleShare * 100)}% of ${pr.samples} samples; ` +
    `active backends: ${top || "none seen"}` +
    (pr.unsealedMaxMs === null
      ? ""
      : `; unsealed entries at most ${pr.unsealedMax} at once, the oldest ${Math.round(pr.unsealedMaxMs)} ms old`)
  )
}

/** The audit chain's lock key as pg_locks shows a bigint advisory lock: (classid, objid). */
const CHAIN_KEY = 7019463830264553n
const CHAIN_LOCK = {
  classid: Number(CHAIN_KEY >> 32n),
  objid: Number(CHAIN_KEY & 0xffffffffn),
}

/**
 * Samples, until stopped: the CPU of the given processes and of the machine, and every
 * SAMPLE_MS the wait events of the service database's active backends (CPU when none) and how
 * many of them wait for the chain lock.
 */
async function startProfiler(databaseUrl: string, pids: number[], kratosPid: number) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  const t0 = performance.now()
  const cpu0 = pids.map(cpuMs)
  const kratos0 = cpuMs(kratosPid)
  const machine0 = machineTicks()
  const waits: Record<string, number> = {}
  let samples = 0
  let waiters = 0
  let withWaiters = 0
  let running = true
  // A build from before the sealer has no seq column (BENCH_SERVICE_BUNDLE may run one).
  const [sealing] = await sql<{ has: boolean }[]>`
    select exists (select 1 from information_schema.columns
                    where table_name = 'audit_events' and column_name = 'seq') as has`
  let unsealedMaxMs = 0
  let unsealedMax = 0
  const loop = (async () => {
    while (running) {
      const rows = await sql<{ wait: string; n: number }[]>`
        select coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait, count(*)::int as n
          from pg_stat_activity
         where datname = current_database() and state = 'active' and pid <> pg_backend_pid()
         group by 1`
      const [lock] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_locks l
          join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and not l.granted and a.datname = current_database()
           and l.classid = ${CHAIN_LOCK.classid} and l.objid = ${CHAIN_LOCK.objid}`
      if (sealing!.has) {
        const [u] = await sql<{ n: number; age: number }[]>`
          select count(*)::int as n,
                 coalesce(extract(epoch from clock_timestamp() - min(occurred_at)) * 1000, 0)::float8 as age
            from audit_events where seq is null and hash is null`
        unsealedMaxMs = Math.max(unsealedMaxMs, u!.age)
        unsealedMax = Math.max(unsealedMax, u!.n)
      }
      samples++
      for (const r of rows) waits[r.wait] = (waits[r.wait] ?? 0) + r.n
      waiters += lock!.n
      if (lock!.n > 0) withWaiters++
      await sleep(SAMPLE_MS)
    }
  })()
  return {
    async stop(): Promise<Profile> {
      running = false
      await loop
      await sql.end()
      const ms = performance.now() - t0
      const machine1 = machineTicks()
      return {
        replicaCores: pids.map((pid, i) => (cpuMs(pid) - cpu0[i]!) / ms),
        kratosCores: (cpuMs(kratosPid) - kratos0) / ms,
        machineBusy:
          1 - (machine1.idle - machine0.idle) / Math.max(1, machine1.total - machine0.total),
        waits,
        chainWaitersMean: waiters / Math.max(1, samples),
        chainWaitSampleShare: withWaiters / Math.max(1, samples),
        unsealedMaxMs: sealing!.has ? unsealedMaxMs : null,
        unsealedMax: sealing!.has ? unsealedMax : null,
        samples,
      }
    },
  }
}

/** The machine's CPU ticks so far (Linux /proc/stat, every core): all, and idle + iowait. */
function machineTicks(): { total: number; idle: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!
  const t = line.trim().split(/\s+/).slice(1).map(Number)
  return { total: t.reduce((a, b) => a + b, 0), idle: t[3]! + t[4]! }
}

/** `npm run audit:verify` on the service database: its exit code and its last line. */
function auditVerify(databaseUrl: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts", "audit-verify.ts")],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0
        const lines = `${stdout}${stderr}`.trim().split("\n")
        resolve({ code, output: lines.join("; ") })
      },
    )
  })
}

if (require.main === module) runAlone(runScaleOutBench)

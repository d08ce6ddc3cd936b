import { openDatabase } from "../db/client"
import { encodeCursor, listAudit, type AuditFilters } from "../webhooks/domain/audit-queries"
import { staff } from "../test/harness/flows"
import { registerNative } from "../test/harness/kratos"
import { figure, printFigure, runLoad, sampleRss, stats, type Figure, type LoadResult } from "./lib"
import { runAlone, type BenchStack } from "./stack"

/**
 * Benchmark 4: the activity feed and the admin audit log over ROWS generated audit entries
 * (one INSERT … SELECT generate_series into the stack's throw-away service database), then
 * the CSV export of all of them through the service while its RSS is sampled.
 *
 * Latency is measured twice: the API call through the service (session check at Kratos
 * included) by autocannon with one connection, and the query alone (the service's own query
 * code on a pool of its own), QUERIES times per kind, one after another.
 */
const BENCH = "4 audit"
const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000)
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5)
const QUERIES = 300
const BASE = new Date("2026-01-01T00:00:00.000Z")

const actorUuid = (n: number) => `${n.toString(16).padStart(8, "0")}-0000-4000-9000-000000000000`

export async function runAuditBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: Record<string, unknown>
  exportPeakRssMb: number
}> {
  const user = await registerNative(undefined, undefined, p.urls)
  const admin = await staff("admin")
  const database = openDatabase({ databaseUrl: p.serviceDatabaseUrl, poolMax: 2 })
  const figures: Figure[] = []
  const raw: Record<string, unknown> = {}
  try {
    // Row i: subject (i % 200), subject 0 being the benchmark user; actor (i % 100), an admin
    // every 10th row; four events in turn; one second apart from BASE. A placeholder hash and
    // no place in the chain: the service's sealer leaves such rows alone (it would otherwise
    // spend the benchmark sealing them), and audit:verify counts them as unsealed.
    const t0 = performance.now()
    await database.query(
      `insert into audit_events
         (event, occurred_at, actor_type, actor_id, subject_id, ip, user_agent, posture, details, dedup_key, hash)
       select (array['auth.login','auth.password_changed','auth.2fa_enabled','admin.role_changed'])[1 + i % 4],
              $2::timestamptz + make_interval(secs => i),
              case when i % 10 = 0 then 'admin' else 'user' end,
              lpad(to_hex(i % 100), 8, '0') || '-0000-4000-9000-000000000000',
              case when i % 200 = 0 then $3::uuid
                   else (lpad(to_hex(i % 200), 8, '0') || '-0000-4000-8000-000000000000')::uuid end,
              '203.0.113.' || (i % 250),
              'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
              '{"role":"member","methods":["password","totp"],"second_factor":true}'::jsonb,
              jsonb_build_object('method', 'password', 'n', i),
              'bench:' || i, 'generated'
         from generate_series(1, $1::int) as i`,
      [ROWS, BASE.toISOString(), user.identityId],
    )
    await database.query("analyze audit_events")
    figures.push(figure(BENCH, `generate ${ROWS} audit rows`, (performance.now() - t0) / 1000, "s"))
    printFigure(figures[figures.length - 1]!)

    const { rows } = await database.query<{ lo: string; hi: string }>(
      "select min(id)::text as lo, max(id)::text as hi from audit_events where dedup_key like 'bench:%'",
    )
    const lo = Number(rows[0]!.lo)
    const hi = Number(rows[0]!.hi)
    const someIds = Array.from({ length: 50 }, (_, k) =>
      Math.round(lo + ((hi - lo) * (k + 1)) / 51),
    )
    const day = (d: number) => new Date(BASE.getTime() + d * 86_400_000).toISOString()

    // The user's own feed: first page and pages further back (keyset cursors).
    const feedPaths = [
      "/api/me/activity?limit=20",
      ...someIds.map((id) => `/api/me/activity?limit=20&cursor=${encodeCursor(id)}`),
    ]
    // The admin log: by actor, by subject, by event, by actor and event, a one-day range.
    const adminPaths = someIds.flatMap((id, k) => [
      `/api/admin/audit?actor=${actorUuid(k % 100)}&limit=50`,
      `/api/admin/audit?subject=${user.identityId}&limit=50&cursor=${encodeCursor(id)}`,
      `/api/admin/audit?event=admin.role_changed&limit=50&cursor=${encodeCursor(id)}`,
      `/api/admin/audit?actor=${actorUuid(k % 100)}&event=auth.login&limit=50`,
      `/api/admin/audit?from=${day(k % 10)}&to=${day((k % 10) + 1)}&limit=50`,
    ])
    const api = async (label: string, paths: string[], token: string) => {
      const r = await runLoad({
        url: p.info.publicUrl,
        paths,
        headers: { accept: "application/json", "x-session-token": token },
        connections: 1,
        duration: SECONDS,
        warmup: 50,
      })
      if (r.latency.n !== r.requests)
        throw new Error(`${label}: non-2xx ${JSON.stringify(r.statusCodes)}`)
      return r
    }
    const feed: LoadResult = await api("own feed", feedPaths, user.sessionToken)
    const adminLog: LoadResult = await api("admin log", adminPaths, admin.token)
    raw.api = { feed, adminLog }

    // The same queries without HTTP and session checks.
    const time = async (
      filters: (k: number) => AuditFilters,
      cursor: (k: number) => string | undefined,
      limit: number,
    ) => {
      const ms: number[] = []
      for (let k = 0; k < QUERIES; k++) {
        const t = performance.now()
        await listAudit(database.db, filters(k), { limit, cursor: cursor(k) })
        ms.push(performance.now() - t)
      }
      return stats(ms)
    }
    const at = (k: number) => (k % 2 === 0 ? undefined : encodeCursor(someIds[k % someIds.length]!))
    const feedQuery = await time(() => ({ subjectId: user.identityId }), at, 20)
    const adminQuery = await time(
      (k) =>
        [
          { actorId: actorUuid(k % 100) },
          { subjectId: user.identityId },
          { event: "admin.role_changed" },
          { actorId: actorUuid(k % 100), event: "auth.login" },
          { from: new Date(day(k % 10)), to: new Date(day((k % 10) + 1)) },
        ][k % 5]!,
      at,
      50,
    )
    raw.queries = { feedQuery, adminQuery }

    const bar = { op: "<=" as const, limit: 20 }
    figures.push(
      figure(BENCH, "own feed API p50", feed.latency.p50, "ms"),
      figure(BENCH, "own feed API p99", feed.latency.p99, "ms", bar, `${feed.latency.n} requests`),
      figure(BENCH, "admin filtered API p50", adminLog.latency.p50, "ms"),
      figure(
        BENCH,
        "admin filtered API p99",
        adminLog.latency.p99,
        "ms",
        bar,
        `${adminLog.latency.n} requests, each audited`,
      ),
      figure(BENCH, "own feed query p99", feedQuery.p99, "ms", bar, `p50 ${feedQuery.p50} ms`),
      figure(
        BENCH,
        "admin filtered query p99",
        adminQuery.p99,
        "ms",
        bar,
        `p50 ${adminQuery.p50} ms`,
      ),
    )
    figures.slice(-6).forEach(printFigure)

    // CSV export of everything, read as fast as this process takes it.
    const rss = sampleRss(p.servicePid(), 50)
    const t1 = performance.now()
    const res = await fetch(`${p.info.publicUrl}/api/admin/audit.csv`, {
      headers: { "x-session-token": admin.token },
    })
    if (!res.ok || !res.body) throw new Error(`export answered ${res.status}`)
    let bytes = 0
    let lines = 0
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++
    }
    const seconds = (performance.now() - t1) / 1000
    const { peakMb } = rss.stop()
    raw.export = { bytes, lines, seconds, peakMb }
    const exported = figures.length
    figures.push(
      figure(BENCH, "CSV export rows", lines - 1, "rows", { op: ">=", limit: ROWS }),
      figure(
        BENCH,
        "CSV export time",
        seconds,
        "s",
        undefined,
        `${Math.round(bytes / 1048576)} MB`,
      ),
      figure(BENCH, "service RSS during CSV export", peakMb, "MB", { op: "<=", limit: 200 }),
    )
    figures.slice(exported).forEach(printFigure)
    return { figures, raw, exportPeakRssMb: peakMb }
  } finally {
    await database.close()
  }
}

if (require.main === module) runAlone(runAuditBench)

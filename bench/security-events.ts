import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import path from "node:path"
import postgres from "postgres"
import { startReceiver, type Receiver } from "../test/harness/event-receiver"
import { staff } from "../test/harness/flows"
import { registerNative } from "../test/harness/kratos"
import { hookAuthorization } from "../webhooks/middleware/hook-auth"
import { FIXTURE_DIR, PLACEHOLDERS } from "./capture-fixtures"
import { figure, printFigure, round, sleep, stats, type Figure, type Stats } from "./lib"
import { runAlone, type BenchStack } from "./stack"
import { hookUrl, settle } from "./webhooks"

/**
 * Benchmark 10: outbound security events (issue 17). Two bars, on the stack's service (the
 * bundle, its own sender, receivers on loopback allow-listed by the bench stack):
 *
 * - Delivery rate. SUBSCRIBERS `*` subscribers are registered through the admin API, each with
 *   a real HTTP receiver on loopback that checks every POST with the `standardwebhooks`
 *   verifier (test/harness/event-receiver.ts). With the subscribers' lanes held (a lease in
 *   the future, as a busy replica would hold them), EVENTS audit entries are inserted with one
 *   statement and sealed by the service's sealer; the trigger gives each enabled subscriber a
 *   delivery per entry. Then the lanes are let go and the receivers timed from their first to
 *   their last POST: events/s = (EVENTS − 1) / that span. Once with one subscriber enabled
 *   (bar: ≥ 200 events/s), once with all of them (info). Every event must arrive once,
 *   verified, in chain order.
 * - What the outbox adds to an audited hook. The password post-persist hook (recorded payload
 *   as in benchmark 2, a fresh flow id per call, one of IDENTITIES identities in turn), one
 *   call after another on one connection, in blocks of BLOCK taking turns: no subscriber
 *   enabled, and the SUBSCRIBERS `*` subscribers enabled (each call then writes that many
 *   deliveries in its transaction, which the sender sends meanwhile). Bar: p50 with − p50
 *   without ≤ 1 ms.
 *
 * `npx tsx bench/security-events.ts` runs it alone; BENCH_EVENTS and BENCH_SUBMITS shorten it.
 */
const BENCH = "10 security events"
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000)
const SUBSCRIBERS = 3
const RATE_BAR = 200
const HOOK = "settings.password.post"
const SUBMITS = Number(process.env.BENCH_SUBMITS ?? 200)
const BLOCK = 20
const IDENTITIES = 20
const ADDED_BAR = 1

export interface DeliveryRun {
  subscribers: number
  events: number
  /** First to last POST at each receiver, ms. */
  spansMs: number[]
  /** From letting go of the lanes to the last POST anywhere, ms. */
  totalMs: number
  /** Sealing the inserted entries, ms (before the lanes were let go). */
  sealMs: number
}

export async function runSecurityEventsBench(p: BenchStack): Promise<{
  figures: Figure[]
  raw: { delivery: DeliveryRun[]; hook: { none: Stats; subscribed: Stats } }
}> {
  const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
  const receivers: Receiver[] = []
  const figures: Figure[] = []
  const add = (...f: Figure[]) => {
    f.forEach(printFigure)
    figures.push(...f)
  }
  try {
    const boss = await staff("super_admin")
    const ids: string[] = []
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const r = await startReceiver()
      receivers.push(r)
      const res = await fetch(`${p.info.publicUrl}/api/admin/event-subscribers`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-session-token": boss.token },
        body: JSON.stringify({ name: `bench ${i + 1}`, url: r.url, event_types: ["*"] }),
      })
      const body = (await res.json()) as { secret?: string; subscriber?: { id: string } }
      if (res.status !== 201 || !body.secret || !body.subscriber) {
        throw new Error(`registering a subscriber answered ${res.status}: ${JSON.stringify(body)}`)
      }
      r.setSecret(body.secret)
      ids.push(body.subscriber.id)
    }
    await drained(sql)

    // Delivery rate: one subscriber, then all of them.
    const delivery: DeliveryRun[] = []
    for (const n of [1, SUBSCRIBERS]) {
      const run = await deliveryRun(sql, ids.slice(0, n), receivers.slice(0, n), ids)
      delivery.push(run)
      const rates = run.spansMs.map((ms) => (run.events - 1) / (ms / 1000))
      const note =
        `${run.events} events per subscriber, first to last POST ` +
        `${run.spansMs.map((ms) => round(ms / 1000)).join(" / ")} s; ` +
        `${round(run.totalMs / 1000)} s from letting go of the lanes to the last; ` +
        `each once, verified, in chain order`
      if (n === 1) {
        add(
          figure(
            BENCH,
            "delivery to one subscriber",
            rates[0]!,
            "events/s",
            {
              op: ">=",
              limit: RATE_BAR,
            },
            note,
          ),
        )
      } else {
        add(
          figure(
            BENCH,
            `delivery with ${n} subscribers, slowest one`,
            Math.min(...rates),
            "events/s",
            undefined,
            note,
          ),
          figure(
            BENCH,
            `delivery with ${n} subscribers, all together`,
            (n * run.events) / (run.totalMs / 1000),
            "events/s",
            undefined,
            `${n * run.events} POSTs in ${round(run.totalMs / 1000)} s`,
          ),
        )
      }
    }

    // The outbox's share of an audited hook.
    const hook = await hookRuns(p, sql, ids)
    const added = hook.subscribed.p50 - hook.none.p50
    add(
      figure(
        BENCH,
        `${HOOK} p50, no subscriber`,
        hook.none.p50,
        "ms",
        undefined,
        `p99 ${hook.none.p99} ms`,
      ),
      figure(
        BENCH,
        `${HOOK} p50, ${SUBSCRIBERS} '*' subscribers`,
        hook.subscribed.p50,
        "ms",
        undefined,
        `p99 ${hook.subscribed.p99} ms`,
      ),
      figure(
        BENCH,
        `what the outbox adds to ${HOOK} at p50`,
        added,
        "ms",
        { op: "<=", limit: ADDED_BAR },
        `${hook.subscribed.n} + ${hook.none.n} calls, one at a time, in blocks of ${BLOCK} taking turns`,
      ),
    )
    return { figures, raw: { delivery, hook } }
  } finally {
    // Gone before the next benchmark: benchmark 4's million generated entries would otherwise
    // each queue a delivery per subscriber, to receivers that are stopped.
    await sql`delete from event_subscribers where name like 'bench %'`.catch(() => {})
    await Promise.all(receivers.map((r) => r.stop()))
    await sql.end()
  }
}

/** Waits (at most a minute) until no enabled subscriber has a pending delivery. */
async function drained(sql: postgres.Sql): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from event_deliveries d
        join event_subscribers s on s.id = d.subscriber_id
       where s.enabled and d.status = 'pending'`
    if (row!.n === 0) return
    await sleep(50)
  }
  throw new Error("security event deliveries still pending after a minute")
}

async function deliveryRun(
  sql: postgres.Sql,
  enabled: string[],
  receivers: Receiver[],
  all: string[],
): Promise<DeliveryRun> {
  await drained(sql)
  const tag = randomUUID()
  await sql`
    update event_subscribers
       set enabled = (id = any(${enabled}::uuid[])),
           lane_locked_until = now() + interval '1 hour'
     where id = any(${all}::uuid[])`
  for (const r of receivers) r.received.length = 0
  const t0 = performance.now()
  await sql`
    insert into audit_events
      (event, actor_type, actor_id, subject_id, ip, user_agent, flow_id, request_id, posture, details)
    select (array['auth.login', 'user.password_changed', 'auth.2fa_enabled', 'session.revoked'])[1 + i % 4],
           'user', s::text, s, '203.0.113.' || (i % 250),
           'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
           gen_random_uuid(), 'bench-' || i,
           '{"role":"member","aal":"aal2","methods":["password","totp"],"second_factor":true}'::jsonb,
           jsonb_build_object('bench', ${tag}::text, 'n', i, 'method', 'password')
      from generate_series(1, ${EVENTS}::int) as i,
           lateral (select (lpad(to_hex(i % 200), 8, '0') || '-0000-4000-8000-000000000000')::uuid as s) as subj`
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from audit_events where seq is null and hash is null`
    if (row!.n === 0) break
    await sleep(20)
  }
  const sealMs = performance.now() - t0
  const [queued] = await sql<{ n: number }[]>`
    select count(*)::int as n from event_deliveries
     where status = 'pending' and subscriber_id = any(${enabled}::uuid[])`
  if (queued!.n !== EVENTS * enabled.length) {
    throw new Error(`expected ${EVENTS * enabled.length} pending deliveries, found ${queued!.n}`)
  }
  const ours = (r: Receiver) =>
    r.received.filter((x) => (x.event.data.entry.details as { bench?: string })?.bench === tag)
  const released = performance.now()
  await sql`update event_subscribers set lane_locked_until = null where id = any(${all}::uuid[])`
  const deadline = Date.now() + 300_000
  while (receivers.some((r) => ours(r).length < EVENTS)) {
    if (Date.now() > deadline) {
      throw new Error(
        `receivers got ${receivers.map((r) => ours(r).length).join(", ")} of ${EVENTS} in 5 min`,
      )
    }
    await sleep(10)
  }
  const spansMs: number[] = []
  let last = 0
  for (const r of receivers) {
    const got = ours(r)
    const seqs = got.map((x) => x.event.data.chain.seq)
    if (new Set(got.map((x) => x.id)).size !== EVENTS || got.length !== EVENTS) {
      throw new Error(`a receiver got ${got.length} POSTs for ${EVENTS} events`)
    }
    if (!got.every((x) => x.verified)) throw new Error("a receiver refused a signature")
    if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1]!)) {
      throw new Error("a receiver got events out of chain order")
    }
    spansMs.push(got[got.length - 1]!.at - got[0]!.at)
    last = Math.max(last, got[got.length - 1]!.at)
  }
  await drained(sql)
  return {
    subscribers: enabled.length,
    events: EVENTS,
    spansMs,
    totalMs: last - released,
    sealMs,
  }
}

async function hookRuns(
  p: BenchStack,
  sql: postgres.Sql,
  ids: string[],
): Promise<{ none: Stats; subscribed: Stats }> {
  const identities: string[] = []
  for (let i = 0; i < IDENTITIES; i++) {
    identities.push((await registerNative(undefined, undefined, p.urls)).identityId)
  }
  const template = readFileSync(path.join(FIXTURE_DIR, `${HOOK}.json`), "utf8")
    .split(PLACEHOLDERS.session)
    .join(randomUUID())
  const url = hookUrl(p.info.publicUrl, HOOK)
  const headers = {
    "content-type": "application/json",
    authorization: hookAuthorization(p.info.webhookApiKey),
  }
  let k = 0
  const call = async (): Promise<number> => {
    const body = template
      .split(PLACEHOLDERS.identity)
      .join(identities[k++ % identities.length]!)
      .split(PLACEHOLDERS.flow)
      .join(randomUUID())
    const t0 = performance.now()
    const res = await fetch(url, { method: "POST", headers, body })
    await res.arrayBuffer()
    const ms = performance.now() - t0
    if (res.status < 200 || res.status >= 300) throw new Error(`${HOOK} answered ${res.status}`)
    return ms
  }
  const setEnabled = async (on: boolean) => {
    await sql`update event_subscribers set enabled = ${on} where id = any(${ids}::uuid[])`
  }
  const deliveries = async () =>
    Number(
      (
        await sql<{ n: number }[]>`
          select count(*)::int as n from event_deliveries where subscriber_id = any(${ids}::uuid[])`
      )[0]!.n,
    )

  await setEnabled(false)
  for (let i = 0; i < 20; i++) await call() // warm-up
  await settle(p.serviceDatabaseUrl)
  const none: number[] = []
  const subscribed: number[] = []
  const before = await deliveries()
  for (let round = 0; none.length < SUBMITS; round++) {
    const order = round % 2 === 0 ? [false, true] : [true, false]
    for (const on of order) {
      await setEnabled(on)
      const into = on ? subscribed : none
      for (let i = 0; i < BLOCK; i++) into.push(await call())
    }
  }
  await setEnabled(true)
  const written = (await deliveries()) - before
  // Each subscribed call's entry, and the mails' entries if any: at least one per call each.
  if (written < subscribed.length * ids.length) {
    throw new Error(`${subscribed.length} subscribed calls wrote only ${written} deliveries`)
  }
  await drained(sql)
  return { none: stats(none), subscribed: stats(subscribed) }
}

if (require.main === module) runAlone(runSecurityEventsBench)

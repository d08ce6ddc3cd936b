import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/postgres-js"
import { migrate } from "drizzle-orm/postgres-js/migrator"
import postgres from "postgres"
import { type Database, openDatabase } from "../../db/client"
import {
  appendAuditAlone,
  type AuditEntryInput,
  auditHash,
  sealAudit,
  SEAL_INTERVAL_MS,
  verifyAuditChain,
} from "../../webhooks/domain/audit"
import { scratchDatabase, TEST_POSTGRES_ADMIN_URL } from "../harness/databases"
import { stackInfo } from "../harness/stack-info"

const ROOT = path.resolve(__dirname, "../..")
const run = promisify(execFile)

/** The bound the README states for an entry to be sealed after it commits, on a busy machine. */
const SEALED_WITHIN_MS = 1000

function entry(dedupKey = `sealer-test:${randomUUID()}`): AuditEntryInput {
  const userId = randomUUID()
  return {
    event: "auth.login",
    actorType: "user",
    actorId: userId,
    subjectId: userId,
    ip: "203.0.113.9",
    userAgent: "jest",
    flowId: randomUUID(),
    requestId: `req-${randomUUID()}`,
    posture: { aal: "aal1", methods: ["password"] },
    details: { method: "password", nested: { b: 2, a: 1 } },
    dedupKey,
  }
}

/**
 * A writer process as a service replica is one: its own pool, appending WRITES entries eight at
 * a time (half as appendAuditAlone does, half as the hooks do: the statements sent at once by
 * `atomic`), with its own sealer running every 20 ms. All start at START_AT, so they overlap.
 */
const WRITER = `
const { randomUUID } = require("node:crypto")
const { openDatabase } = require("./db/client")
const { atomic } = require("./db/raw")
const { appendAuditAlone, appendStatements, checkChainLock, startAuditSealer } = require("./webhooks/domain/audit")
async function main() {
  const database = openDatabase({ databaseUrl: process.env.DATABASE_URL, poolMax: 8 })
  const failures = []
  const sealer = startAuditSealer({ database, intervalMs: 20, log: { warn: (o, m) => failures.push(m + ": " + String(o.err)) } })
  const n = Number(process.env.WRITES)
  const tag = process.env.TAG
  await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())))
  for (let i = 0; i < n; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, n - i) }, async (_, j) => {
      const k = i + j
      const e = {
        event: "auth.login", actorType: "user", actorId: tag, subjectId: randomUUID(),
        ip: "203.0.113." + (k % 250), userAgent: "writer " + tag, flowId: randomUUID(),
        requestId: tag + "-" + k, posture: { aal: "aal1", methods: ["password"] },
        details: { k, writer: tag }, dedupKey: tag + ":" + k,
      }
      if (k % 2 === 0) return appendAuditAlone(database.db, e)
      const results = await atomic(database.db, appendStatements(e).statements)
      checkChainLock(results[0])
    }))
  }
  await sealer.stop()
  await database.close()
  console.log(JSON.stringify({ failures }))
}
main().catch((e) => { console.error(e); process.exit(1) })
`

async function refusal(database: Database, statement: string): Promise<string> {
  return database.query(statement).then(
    () => "allowed",
    (err: unknown) => {
      const e = err as Error & { cause?: Error }
      return `${e.message} ${e.cause?.message ?? ""}`
    },
  )
}

/** As a superuser may: triggers off for this transaction only. */
async function bypassingTriggers(database: Database, statement: string): Promise<void> {
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`)
    await tx.execute(sql.raw(statement))
  })
}

describe("the audit sealer", () => {
  it("when three writer processes append at once, each with its own sealer, then every entry is kept, sealed once in one chain, and verification passes and names a tampered entry", async () => {
    const scratch = await scratchDatabase()
    const { database } = scratch
    try {
      const writes = 240
      const tags = ["w1", "w2", "w3"]
      const startAt = Date.now() + 6000
      const outputs = await Promise.all(
        tags.map((tag) =>
          run(process.execPath, ["--import", "tsx", "-e", WRITER], {
            cwd: ROOT,
            timeout: 100_000,
            env: {
              ...process.env,
              DATABASE_URL: scratch.url,
              WRITES: String(writes),
              TAG: tag,
              START_AT: String(startAt),
            },
          }),
        ),
      )
      for (const o of outputs) {
        expect(JSON.parse(o.stdout) as unknown).toEqual({ failures: [] })
      }
      // The writers' sealers stop after their last append; what committed after their last
      // round is sealed now.
      await sealAudit(database, { wait: true })

      const { rows } = await database.query<{ dedup_key: string; seq: number | null }>(
        "select dedup_key, seq::int as seq from audit_events order by audit_events.seq",
      )
      expect(rows).toHaveLength(tags.length * writes)
      const keys = new Set(rows.map((r) => r.dedup_key))
      for (const tag of tags) {
        for (let k = 0; k < writes; k++) expect(keys.has(`${tag}:${k}`)).toBe(true)
      }
      // One chain: every entry has a place, 1 to n without gaps or repeats.
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1))
      expect(await verifyAuditChain(database, { batchSize: 100 })).toEqual({
        ok: true,
        checked: tags.length * writes,
      })

      // Tampering with a sealed entry (bypassing the trigger) is named.
      const [mid] = (
        await database.query<{ id: number }>("select id from audit_events where seq = 300")
      ).rows
      await bypassingTriggers(
        database,
        `update audit_events set details = '{"k": -1}'::jsonb where id = ${mid!.id}`,
      )
      expect(await verifyAuditChain(database, { batchSize: 64 })).toEqual({
        ok: false,
        checked: 299,
        brokenAt: { id: Number(mid!.id), reason: "hash mismatch" },
      })
    } finally {
      await scratch.drop()
    }
  }, 120_000)

  it("when an entry is sealed, then its seal and content can no longer change; an unsealed entry may only be sealed, and a forged seal is named by verification", async () => {
    const scratch = await scratchDatabase()
    const { database } = scratch
    try {
      const first = await appendAuditAlone(database.db, entry())
      const second = await appendAuditAlone(database.db, entry())
      // Before the seal: the entry is recorded and shown; verification counts it apart.
      const before = await verifyAuditChain(database)
      expect(before).toMatchObject({
        ok: true,
        checked: 0,
        unsealed: { count: 2, oldestId: first.id },
      })
      const unsealedChange = await refusal(
        database,
        `update audit_events set seq = 1, hash = 'x', ip = '198.51.100.1' where id = ${first.id}`,
      )
      expect(unsealedChange).toMatch(/audit_events is append-only: UPDATE/)

      expect(await sealAudit(database)).toEqual({ sealed: 2, busy: false })
      for (const statement of [
        `update audit_events set seq = seq + 1000 where id = ${first.id}`,
        `update audit_events set hash = 'x' where id = ${first.id}`,
        `update audit_events set seq = null, prev_hash = null, hash = null where id = ${second.id}`,
        `delete from audit_events where id = ${second.id}`,
      ]) {
        expect(await refusal(database, statement)).toMatch(/audit_events is append-only/)
      }
      expect(await verifyAuditChain(database)).toEqual({ ok: true, checked: 2 })

      // Someone with the service's role seals a new entry by hand with a made-up hash.
      const third = await appendAuditAlone(database.db, entry())
      expect(
        await refusal(
          database,
          `update audit_events set seq = 3, prev_hash = 'x', hash = 'y' where id = ${third.id}`,
        ),
      ).toBe("allowed")
      expect(await verifyAuditChain(database)).toEqual({
        ok: false,
        checked: 2,
        brokenAt: { id: third.id, reason: "prev_hash does not match the previous entry" },
      })
    } finally {
      await scratch.drop()
    }
  })

  it("when a sealed entry is unsealed bypassing the trigger, then verification names the gap, counts it unsealed, and the sealer does not seal it again", async () => {
    const scratch = await scratchDatabase()
    const { database } = scratch
    try {
      const ids: number[] = []
      for (let i = 0; i < 3; i++) ids.push((await appendAuditAlone(database.db, entry())).id)
      await sealAudit(database)
      await bypassingTriggers(database, `update audit_events set seq = null where id = ${ids[1]}`)
      const later = await appendAuditAlone(database.db, entry())

      expect(await sealAudit(database)).toEqual({ sealed: 1, busy: false })
      expect(await verifyAuditChain(database)).toEqual({
        ok: false,
        checked: 1,
        brokenAt: { id: ids[2], reason: "prev_hash does not match the previous entry" },
        unsealed: { count: 1, oldestId: ids[1], oldestAt: expect.any(String) as string },
      })
      const { rows } = await database.query<{ id: number; seq: number | null }>(
        "select id::int as id, seq::int as seq from audit_events where id = any($1::bigint[]) order by id",
        [[ids[1], later.id]],
      )
      expect(rows).toEqual([
        { id: ids[1], seq: null },
        { id: later.id, seq: 4 },
      ])
    } finally {
      await scratch.drop()
    }
  })

  it("when entries wait unsealed, then `npm run audit:verify` reports them on a line of their own and exits 0; when a sealed entry is altered, then it names it and exits 2", async () => {
    const scratch = await scratchDatabase()
    const { database } = scratch
    const verify = () =>
      run(process.execPath, ["--import", "tsx", "scripts/audit-verify.ts"], {
        cwd: ROOT,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", DATABASE_URL: scratch.url },
      }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      )
    try {
      const a = await appendAuditAlone(database.db, entry())
      await sealAudit(database)
      const b = await appendAuditAlone(database.db, entry())
      await appendAuditAlone(database.db, entry())

      const waiting = await verify()
      expect(waiting.code).toBe(0)
      expect(waiting.out).toMatch(
        new RegExp(`^unsealed: 2 entries not in the chain yet, the oldest entry ${b.id},`, "m"),
      )
      expect(waiting.out).toMatch(/^audit chain OK: 1 entries$/m)

      await sealAudit(database)
      await bypassingTriggers(
        database,
        `update audit_events set ip = '198.51.100.7' where id = ${a.id}`,
      )
      const broken = await verify()
      expect(broken.code).toBe(2)
      expect(broken.out).toContain(`audit chain BROKEN at entry ${a.id}: hash mismatch`)
      expect(broken.out).not.toContain("unsealed")
    } finally {
      await scratch.drop()
    }
  }, 90_000)
})

describe("the sealer of a running service", () => {
  let database: Database
  beforeAll(() => {
    const url = stackInfo().serviceDatabaseUrl
    if (!url) throw new Error("this test needs Postgres at 127.0.0.1:5432")
    database = openDatabase({ databaseUrl: url, poolMax: 2 })
  })
  afterAll(() => database.close())

  it(`when entries are appended, then the service seals each within ${SEALED_WITHIN_MS} ms of its commit (its sealer runs every ${SEAL_INTERVAL_MS} ms)`, async () => {
    const waits: number[] = []
    for (let i = 0; i < 10; i++) {
      const { id } = await appendAuditAlone(database.db, entry())
      const committed = performance.now()
      for (;;) {
        const { rows } = await database.query<{ seq: string | null }>(
          "select seq::text from audit_events where id = $1",
          [id],
        )
        if (rows[0]!.seq !== null) break
        if (performance.now() - committed > 5 * SEALED_WITHIN_MS) break
        await new Promise((r) => setTimeout(r, 10))
      }
      waits.push(performance.now() - committed)
    }
    expect(Math.max(...waits)).toBeLessThanOrEqual(SEALED_WITHIN_MS)
    const report = await verifyAuditChain(database)
    expect(report).toMatchObject({ ok: true })
  })
})

describe("the sealer's migration", () => {
  it("when a trail chained before the sealer is migrated, then its entries keep their order, new entries are sealed after them and the whole chain verifies", async () => {
    const name = `kg_sealmig_${Date.now().toString(36)}_${randomUUID().slice(0, 6)}`
    const admin = postgres(TEST_POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    const url = new URL(TEST_POSTGRES_ADMIN_URL)
    url.pathname = `/${name}`
    const dir = mkdtempSync(path.join(os.tmpdir(), "kg-migrations-"))
    const conn = postgres(url.toString(), { max: 1, onnotice: () => {} })
    let database: Database | undefined
    try {
      // The migrations as they were before the sealer's (0007).
      const source = path.join(ROOT, "db", "migrations")
      cpSync(source, dir, { recursive: true })
      const journalFile = path.join(dir, "meta", "_journal.json")
      const journal = JSON.parse(readFileSync(journalFile, "utf8")) as {
        entries: { idx: number; tag: string }[]
      }
      const sealer = journal.entries.find((e) => e.tag === "0007_audit_sealer")!
      journal.entries = journal.entries.filter((e) => e.idx < sealer.idx)
      writeFileSync(journalFile, JSON.stringify(journal))
      await migrate(drizzle(conn), { migrationsFolder: dir })

      // Three entries chained as appends did then: in id order, each hashed on the one before.
      let prev: string | null = null
      const legacyIds: number[] = []
      for (let i = 0; i < 3; i++) {
        const content = {
          eventId: randomUUID(),
          dedupKey: `legacy:${i}`,
          event: "auth.login",
          occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
          actorType: "user",
          actorId: null,
          subjectId: null,
          ip: null,
          userAgent: null,
          flowId: null,
          requestId: null,
          posture: { methods: ["password"] },
          details: { i },
        }
        const hash = auditHash(prev, content)
        const [row] = await conn<{ id: string }[]>`
          insert into audit_events
            (event_id, dedup_key, event, occurred_at, actor_type, posture, details, prev_hash, hash)
          values (${content.eventId}, ${content.dedupKey}, ${content.event},
                  ${content.occurredAt}::timestamptz, ${content.actorType},
                  ${JSON.stringify(content.posture)}::jsonb, ${JSON.stringify(content.details)}::jsonb,
                  ${prev}, ${hash})
          returning id`
        legacyIds.push(Number(row!.id))
        prev = hash
      }

      await migrate(drizzle(conn), { migrationsFolder: source })
      database = openDatabase({ databaseUrl: url.toString(), poolMax: 2 })
      const added = [
        await appendAuditAlone(database.db, entry()),
        await appendAuditAlone(database.db, entry()),
      ]
      expect(await sealAudit(database)).toEqual({ sealed: 2, busy: false })

      const { rows } = await database.query<{ id: number; seq: number }>(
        "select id::int as id, seq::int as seq from audit_events order by audit_events.seq",
      )
      expect(rows).toEqual([
        ...legacyIds.map((id) => ({ id, seq: id })),
        ...added.map((a, i) => ({ id: a.id, seq: legacyIds[2]! + 1 + i })),
      ])
      expect(await verifyAuditChain(database, { batchSize: 2 })).toEqual({ ok: true, checked: 5 })
    } finally {
      await database?.close()
      await conn.end()
      rmSync(dir, { recursive: true, force: true })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  })
})

import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import path from "node:path"
import { promisify } from "node:util"
import { sql, TransactionRollbackError } from "drizzle-orm"
import { type Database, openDatabase } from "../../db/client"
import {
  appendAuditAlone,
  type AuditEntryInput,
  appendAudit,
  sealAudit,
  verifyAuditChain,
} from "../../webhooks/domain/audit"
import { enqueueNotifications, listOutbox } from "../../webhooks/data/outbox"
import { scratchDatabase } from "../harness/databases"
import { stackInfo } from "../harness/stack-info"

function entry(overrides: Partial<AuditEntryInput> = {}): AuditEntryInput {
  const userId = randomUUID()
  return {
    event: "auth.password_changed",
    actorType: "user",
    actorId: userId,
    subjectId: userId,
    ip: "203.0.113.7",
    userAgent: "jest",
    flowId: randomUUID(),
    requestId: `req-${randomUUID()}`,
    posture: { aal: "aal1", methods: ["password"] },
    details: { via: "settings" },
    dedupKey: `test:${randomUUID()}`,
    ...overrides,
  }
}

/** Runs one statement in a transaction that is always rolled back; returns what it threw. */
async function attempt(database: Database, statement: string): Promise<unknown> {
  let failure: unknown
  await database.db
    .transaction(async (tx) => {
      try {
        await tx.execute(sql.raw(statement))
      } catch (err) {
        failure = err
      }
      tx.rollback()
    })
    .catch((err: unknown) => {
      if (!(err instanceof TransactionRollbackError)) throw err
    })
  return failure
}

/** drizzle wraps the driver's error; the database's own message is on `cause`. */
function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? ` ${err.cause.message}` : ""
  return `${err.message}${cause}`
}

async function expectAppendOnly(database: Database, id: number): Promise<void> {
  for (const statement of [
    `update audit_events set details = '{"x": 1}'::jsonb where id = ${id}`,
    `delete from audit_events where id = ${id}`,
    `truncate audit_events`,
  ]) {
    expect(messageOf(await attempt(database, statement))).toMatch(/audit_events is append-only/)
  }
}

async function countByDedupKey(database: Database, dedupKey: string): Promise<number> {
  const { rows } = await database.query<{ n: number }>(
    "select count(*)::int as n from audit_events where dedup_key = $1",
    [dedupKey],
  )
  return rows[0]!.n
}

describe("the audit trail in the service's database", () => {
  let database: Database

  beforeAll(() => {
    const databaseUrl = stackInfo().serviceDatabaseUrl
    if (!databaseUrl) throw new Error("this test needs Postgres at 127.0.0.1:5432")
    database = openDatabase({ databaseUrl })
  })
  afterAll(() => database.close())

  it("when several entries are appended, then they are stored as given and the chain verifies", async () => {
    const subject = randomUUID()
    const written = []
    for (const e of [
      entry({ subjectId: subject.toUpperCase(), details: { b: { y: 2, x: 1 }, a: [3, 1] } }),
      entry({ subjectId: subject, ip: null, userAgent: undefined, flowId: null }),
      entry({ event: "policy.updated", actorType: "admin", subjectId: null, details: undefined }),
    ]) {
      written.push(await database.db.transaction((tx) => appendAudit(tx, e)))
    }

    expect(written.every((w) => w.inserted)).toBe(true)
    const { rows } = await database.query<{ subject_id: string | null; details: unknown }>(
      "select subject_id, details from audit_events where event_id = $1",
      [written[0]!.eventId],
    )
    expect(rows[0]).toEqual({ subject_id: subject, details: { a: [3, 1], b: { x: 1, y: 2 } } })
    await sealAudit(database, { wait: true })
    expect(await verifyAuditChain(database, { batchSize: 2 })).toMatchObject({ ok: true })
  })

  it("when the same dedup key is appended twice, then there is one entry and the second call returns it", async () => {
    const e = entry()
    const first = await database.db.transaction((tx) => appendAudit(tx, e))
    const second = await database.db.transaction((tx) =>
      appendAudit(tx, { ...e, details: { replayed: true } }),
    )

    expect(first.inserted).toBe(true)
    expect(second).toEqual({ inserted: false, eventId: first.eventId, id: first.id })
    expect(await countByDedupKey(database, e.dedupKey)).toBe(1)
  })

  it("when the same dedup key is appended by two transactions at once, then exactly one inserts", async () => {
    const e = entry()
    const results = await Promise.all(
      [0, 1].map(() => database.db.transaction((tx) => appendAudit(tx, e))),
    )

    expect(results.filter((r) => r.inserted)).toHaveLength(1)
    expect(results[0]!.eventId).toBe(results[1]!.eventId)
    expect(await countByDedupKey(database, e.dedupKey)).toBe(1)
  })

  it("when 20 transactions append at once, then every entry is written and the chain still verifies", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => database.db.transaction((tx) => appendAudit(tx, entry()))),
    )

    expect(results.every((r) => r.inserted)).toBe(true)
    expect(new Set(results.map((r) => r.id)).size).toBe(20)
    await sealAudit(database, { wait: true })
    const report = await verifyAuditChain(database, { batchSize: 7 })
    expect(report).toMatchObject({ ok: true })
    expect(report.checked).toBeGreaterThanOrEqual(20)
  })

  it("when the caller's transaction rolls back, then its entry is gone and the chain verifies", async () => {
    const e = entry()
    await expect(
      database.db.transaction(async (tx) => {
        await appendAudit(tx, e)
        throw new Error("the change failed")
      }),
    ).rejects.toThrow("the change failed")

    expect(await countByDedupKey(database, e.dedupKey)).toBe(0)
    expect(await verifyAuditChain(database)).toMatchObject({ ok: true })
  })

  it("when an entry is appended on its own (no change of its own to commit), then it gets a transaction of its own", async () => {
    const result = await appendAuditAlone(database.db, entry())
    expect(result.inserted).toBe(true)
  })

  it("when an entry is updated, deleted or the table truncated, then the database refuses", async () => {
    const { id } = await appendAuditAlone(database.db, entry())
    await expectAppendOnly(database, id)
    expect(await verifyAuditChain(database)).toMatchObject({ ok: true })
  })

  it("when a notification is enqueued twice for the same entry, kind and recipient, then there is one row with one message id", async () => {
    const notification = {
      kind: "password_changed",
      recipient: "someone@example.com",
      subject: "Your password was changed",
      bodyText: "If this was not you, contact your administrator.",
    }
    // A database of its own: the shared stack's dispatcher would send the row mid-test.
    const scratch = await scratchDatabase()
    const db = scratch.database.db
    const enqueue = (e: AuditEntryInput) =>
      db.transaction(async (tx) => {
        const { eventId } = await appendAudit(tx, e)
        return {
          eventId,
          queued: (await enqueueNotifications(tx, [{ auditEventId: eventId, ...notification }]))[0],
        }
      })
    const e = entry()
    const first = await enqueue(e)
    const second = await enqueue(e)

    try {
      expect([first.queued, second.queued]).toEqual([true, false])
      const rows = await listOutbox(db, { auditEventId: first.eventId })
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ ...notification, status: "pending", bodyHtml: null })
      expect(rows[0]!.messageId).toMatch(/^<[0-9a-f-]{36}@kratos-guard>$/)
      expect(await listOutbox(db, { auditEventId: first.eventId, status: "sent" })).toEqual([])
    } finally {
      await scratch.drop()
    }
  })
})

describe("tampering with the audit trail (each test in a database of its own)", () => {
  /** A migrated throw-away database, so a broken chain never reaches other tests. */
  async function withScratchDatabase(test: (database: Database) => Promise<void>): Promise<void> {
    const { database, drop } = await scratchDatabase()
    try {
      await test(database)
    } finally {
      await drop()
    }
  }

  /** As a superuser may: triggers off for this transaction only (`set local`). */
  async function asReplica(database: Database, statement: string): Promise<void> {
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`)
      await tx.execute(sql.raw(statement))
    })
  }

  async function appendSome(database: Database, n: number): Promise<number[]> {
    const ids: number[] = []
    for (let i = 0; i < n; i++) ids.push((await appendAuditAlone(database.db, entry())).id)
    await sealAudit(database)
    return ids
  }

  it("when an entry is altered bypassing the trigger, then verification reports that entry", () =>
    withScratchDatabase(async (database) => {
      const ids = await appendSome(database, 4)
      expect(await verifyAuditChain(database)).toEqual({ ok: true, checked: 4 })

      await asReplica(
        database,
        `update audit_events set details = '{"via": "admin"}'::jsonb where id = ${ids[2]}`,
      )

      expect(await verifyAuditChain(database, { batchSize: 2 })).toEqual({
        ok: false,
        checked: 2,
        brokenAt: { id: ids[2], reason: "hash mismatch" },
      })
    }))

  it("when an entry is deleted bypassing the trigger, then verification reports the entry after it", () =>
    withScratchDatabase(async (database) => {
      const ids = await appendSome(database, 3)

      await asReplica(database, `delete from audit_events where id = ${ids[1]}`)

      expect(await verifyAuditChain(database)).toEqual({
        ok: false,
        checked: 1,
        brokenAt: { id: ids[2], reason: "prev_hash does not match the previous entry" },
      })
    }))

  it("when the table is truncated for real (no rollback to fall back on), then the database refuses and nothing is lost", () =>
    withScratchDatabase(async (database) => {
      await appendSome(database, 1)
      const err = await database.query("truncate audit_events").catch((e: unknown) => e)
      expect(messageOf(err)).toMatch(/audit_events is append-only: TRUNCATE/)
      expect(await verifyAuditChain(database)).toEqual({ ok: true, checked: 1 })
    }))

  it("when appendAudit runs under repeatable read, then it refuses rather than fork the chain", () =>
    withScratchDatabase(async (database) => {
      await expect(
        database.db.transaction((tx) => appendAudit(tx, entry()), {
          isolationLevel: "repeatable read",
        }),
      ).rejects.toThrow(/READ COMMITTED/)
    }))
})

/**
 * PGlite loads its WASM through dynamic `import()`, which jest's module sandbox refuses without
 * --experimental-vm-modules; so this scenario runs in a child Node process (via tsx) and
 * reports what happened as JSON.
 */
const PGLITE_SCENARIO = `
const { openDatabase } = require("./db/client")
const { appendAudit, appendAuditAlone, sealAudit, verifyAuditChain } = require("./webhooks/domain/audit")
const entry = (dedupKey) => ({
  event: "auth.login", actorType: "user", actorId: null, subjectId: null,
  posture: { methods: ["password"], aal: "aal1" }, details: { z: 1, a: { d: 2, c: 3 } }, dedupKey,
})
async function main() {
  const database = openDatabase({ pgliteDir: undefined })
  try {
    await database.migrate()
    const first = await appendAuditAlone(database.db, entry("a"))
    await database.db.transaction((tx) => appendAudit(tx, entry("b")))
    await appendAuditAlone(database.db, entry("c"))
    const replay = await appendAuditAlone(database.db, entry("a"))
    const refusals = []
    for (const statement of [
      "update audit_events set ip = '198.51.100.1'",
      "delete from audit_events",
      "truncate audit_events",
    ]) {
      refusals.push(await database.query(statement).then(() => "allowed", (e) => e.message))
    }
    const unsealed = await verifyAuditChain(database)
    await sealAudit(database)
    const report = await verifyAuditChain(database, { batchSize: 2 })
    return { first, replay, refusals, unsealed, report }
  } finally {
    await database.close()
  }
}
main().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1) })
`

describe("the audit trail in embedded PGlite", () => {
  // Booting PGlite in a fresh process takes seconds, and jest ignores a project's testTimeout.
  it("when entries are appended, then a replay adds nothing, changes are refused and the chain verifies", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "-e", PGLITE_SCENARIO],
      { cwd: path.resolve(__dirname, "../.."), timeout: 110_000 },
    )
    const result = JSON.parse(stdout) as Record<string, unknown>

    expect(result.first).toMatchObject({ inserted: true, id: 1 })
    expect(result.replay).toEqual({ ...(result.first as object), inserted: false })
    expect(result.refusals).toEqual([
      expect.stringMatching(/audit_events is append-only: UPDATE/),
      expect.stringMatching(/audit_events is append-only: DELETE/),
      expect.stringMatching(/audit_events is append-only: TRUNCATE/),
    ])
    expect(result.unsealed).toMatchObject({ ok: true, checked: 0, unsealed: { count: 3 } })
    expect(result.report).toEqual({ ok: true, checked: 3 })
  }, 60_000)
})

import { Writable } from "node:stream"
import type { Database } from "../../db/client"
import {
  type AuditFilters,
  listAudit,
  listAuditQuery,
  streamAuditCsv,
} from "../../webhooks/domain/audit-queries"
import {
  GENERATED_BASE,
  generatedActor,
  generatedSubject,
  insertGeneratedRows,
  scratchDatabase,
} from "../harness/audit-rows"

const ROWS = 100_000

/** Collects what is written, in chunks, with a little back-pressure. */
class Sink extends Writable {
  chunks: string[] = []
  constructor(private keep = true) {
    super({ highWaterMark: 64 * 1024 })
  }
  bytes = 0
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.bytes += chunk.length
    if (this.keep) this.chunks.push(chunk.toString("utf8"))
    setImmediate(done)
  }
}

/** A minimal RFC 4180 parser for checking the export (rows end with CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') {
        quoted = false
      } else {
        cell += c
      }
    } else if (c === '"') {
      quoted = true
    } else if (c === ",") {
      row.push(cell)
      cell = ""
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ""
      i++
    } else {
      cell += c
    }
  }
  return rows
}

async function plan(database: Database, filters: AuditFilters, limit = 20): Promise<string> {
  const q = listAuditQuery(database.db, filters, { limit }).toSQL()
  const { rows } = await database.query<{ "QUERY PLAN": string }>(
    `explain ${q.sql}`,
    q.params as unknown[],
  )
  return rows.map((r) => r["QUERY PLAN"]).join("\n")
}

describe("audit queries over 100,000 generated rows", () => {
  let database: Database
  let drop: () => Promise<void>

  beforeAll(async () => {
    ;({ database, drop } = await scratchDatabase())
    await insertGeneratedRows(database, ROWS)
  }, 120_000)
  afterAll(() => drop?.())

  it("when filtering by subject, actor, event list and time range, then exactly the matching rows come back, newest first", async () => {
    const subject = generatedSubject(7)
    const bySubject = await listAudit(database.db, { subjectId: subject }, { limit: 100 })
    expect(bySubject.items).toHaveLength(100)
    expect(bySubject.items.every((r) => r.subjectId === subject)).toBe(true)
    const ids = bySubject.items.map((r) => r.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    expect(ids[0]).toBe(ROWS - ((ROWS - 7) % 200))

    const byActor = await listAudit(database.db, { actorId: generatedActor(30) }, { limit: 5 })
    expect(byActor.items.map((r) => r.actorId)).toEqual(Array(5).fill("actor-30"))

    const events = await listAudit(
      database.db,
      { event: ["auth.2fa_enabled", "admin.role_changed"] },
      { limit: 8 },
    )
    expect(events.items.map((r) => r.event)).toEqual(
      Array.from({ length: 4 }, () => ["admin.role_changed", "auth.2fa_enabled"]).flat(),
    )

    // Rows 1000..1009 (occurred_at = base + i s), for one subject: only 1000 and 1200 are at 0.
    const range = await listAudit(
      database.db,
      {
        from: new Date(GENERATED_BASE.getTime() + 1000_000),
        to: new Date(GENERATED_BASE.getTime() + 1010_000),
      },
      { limit: 100 },
    )
    expect(range.items.map((r) => r.occurredAt.getTime() - GENERATED_BASE.getTime())).toEqual(
      Array.from({ length: 10 }, (_, k) => (1009 - k) * 1000),
    )
    const combined = await listAudit(
      database.db,
      {
        subjectId: generatedSubject(0),
        event: "auth.login",
        actorId: generatedActor(0),
        from: new Date(GENERATED_BASE.getTime() + 1000_000),
        to: new Date(GENERATED_BASE.getTime() + 1401_000),
      },
      { limit: 10 },
    )
    expect(combined.items.map((r) => r.id)).toEqual([1400, 1200, 1000])
    expect(combined.nextCursor).toBeNull()
  })

  it("when paging with the cursor, then every row of the filter is seen once, newest first", async () => {
    const subject = generatedSubject(42)
    const seen: number[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await listAudit(database.db, { subjectId: subject }, { cursor, limit: 100 })
      seen.push(...page.items.map((r) => r.id))
      if (!page.nextCursor) break
      cursor = page.nextCursor
    }
    expect(seen).toHaveLength(ROWS / 200)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen).toEqual([...seen].sort((a, b) => b - a))
  })

  it("when paging a time range alone, then every row of the range is seen once, newest first", async () => {
    // Rows 5000..6999 (occurred_at = base + i s), read back in time order.
    const range = {
      from: new Date(GENERATED_BASE.getTime() + 5000_000),
      to: new Date(GENERATED_BASE.getTime() + 7000_000),
    }
    const seen: number[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await listAudit(database.db, range, { cursor, limit: 100 })
      seen.push(...page.items.map((r) => r.id))
      if (!page.nextCursor) break
      cursor = page.nextCursor
    }
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, k) => 6999 - k))
  })

  it("when the planner runs the page queries, then they read an index in id order: no seq scan, no sort", async () => {
    for (const filters of [
      {},
      { subjectId: generatedSubject(3) },
      { actorId: generatedActor(3) },
      { event: "auth.login" },
      { subjectId: generatedSubject(3), event: ["auth.login", "admin.role_changed"] },
    ] satisfies AuditFilters[]) {
      const text = await plan(database, filters)
      expect(text).toMatch(/Index Scan Backward/)
      expect(text).not.toMatch(/Seq Scan|Sort/)
    }
    expect(await plan(database, { subjectId: generatedSubject(3) })).toMatch(
      /audit_events_subject_idx/,
    )
    expect(await plan(database, { actorId: generatedActor(3) })).toMatch(/audit_events_actor_idx/)
    // Two filters with their own index: an actor with no entry of the event costs nothing.
    expect(await plan(database, { actorId: generatedActor(3), event: "auth.login" })).toMatch(
      /audit_events_actor_event_idx/,
    )
    // A time range alone is read in time order from (occurred_at, id), not sorted.
    const range = await plan(database, {
      from: new Date(GENERATED_BASE.getTime() + 5000_000),
      to: new Date(GENERATED_BASE.getTime() + 7000_000),
    })
    expect(range).toMatch(/Index Scan Backward using audit_events_occurred_idx/)
    expect(range).not.toMatch(/Seq Scan|Sort/)
  })

  it("when a subject's entries are exported, then the CSV has a header, every row in id order, escaped and formula-safe", async () => {
    const sink = new Sink()
    const result = await streamAuditCsv(database, { subjectId: generatedSubject(5) }, sink, {
      batchSize: 100,
    })
    expect(result).toEqual({ rows: ROWS / 200, batches: ROWS / 200 / 100 + 1 })
    const rows = parseCsv(sink.chunks.join(""))
    expect(rows[0]).toEqual([
      "id",
      "event_id",
      "occurred_at",
      "event",
      "actor_type",
      "actor_id",
      "subject_id",
      "ip",
      "user_agent",
      "flow_id",
      "request_id",
      "posture",
      "details",
      "prev_hash",
      "hash",
    ])
    expect(rows).toHaveLength(ROWS / 200 + 1)
    const first = rows[1]!
    expect(first[0]).toBe("5")
    expect(first[3]).toBe("auth.password_changed")
    expect(first[6]).toBe(generatedSubject(5))
    expect(first[8]).toBe('Mozilla/5.0 "generated", row 5')
    expect(JSON.parse(first[12]!)).toEqual({ n: 5, note: "=cmd|5" })
    expect(first[2]).toBe(new Date(GENERATED_BASE.getTime() + 5000).toISOString())
    const ids = rows.slice(1).map((r) => Number(r[0]))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    // One write per batch after the header: the rows arrive in batches, not all at once.
    expect(sink.chunks.length).toBe(1 + ROWS / 200 / 100)
  })

  it("when a cell starts with a formula character, then it is prefixed with a quote", async () => {
    await database.query(
      `insert into audit_events (event, actor_type, actor_id, user_agent, dedup_key)
       values ('test.formula', 'user', 'formula-actor', '=HYPERLINK("http://x")', 'formula:1')`,
    )
    const sink = new Sink()
    await streamAuditCsv(database, { actorId: "formula-actor" }, sink)
    const [, row] = parseCsv(sink.chunks.join(""))
    expect(row![8]).toBe(`'=HYPERLINK("http://x")`)
  })

  it("when all 100,000 rows are exported, then they stream in 1000-row batches", async () => {
    const sink = new Sink(false)
    const result = await streamAuditCsv(
      database,
      { event: ["auth.login", "auth.2fa_enabled", "auth.password_changed", "admin.role_changed"] },
      sink,
    )
    expect(result).toEqual({ rows: ROWS, batches: ROWS / 1000 + 1 })
    expect(sink.bytes).toBeGreaterThan(ROWS * 100)
  })
})

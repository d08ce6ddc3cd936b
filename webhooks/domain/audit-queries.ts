import { once } from "node:events"
import type { Writable } from "node:stream"
import type { Database, Db } from "../../db/client"
import {
  auditBatchAfter,
  auditPageQuery,
  type AuditFilters,
  type AuditRow,
} from "../data/audit-events"
import { AppError } from "../errors"

export type { AuditFilters, AuditRow }

export interface AuditPage {
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string
  /** 1..100. */
  limit: number
}

export const MAX_PAGE_SIZE = 100

/**
 * Cursor: base64url of `{"v":1,"id":<last id on the page>}`. Clients must treat it as opaque;
 * the next page holds the entries with a smaller id (newest first).
 */
export function encodeCursor(id: number): string {
  return Buffer.from(JSON.stringify({ v: 1, id })).toString("base64url")
}

/** The id behind a cursor, or null if it is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown
    const { v, id } = (parsed ?? {}) as { v?: unknown; id?: unknown }
    return v === 1 && Number.isSafeInteger(id) && (id as number) > 0 ? (id as number) : null
  } catch {
    return null
  }
}

/**
 * One page of audit entries, newest first, with keyset pagination (the query's indexes: see
 * data/audit-events.ts).
 * Throws a 400 AppError for a malformed cursor or limit.
 */
export async function listAudit(
  db: Db,
  filters: AuditFilters,
  page: AuditPage,
): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
  const rows = await listAuditQuery(db, filters, page)
  const items = rows.slice(0, page.limit)
  const more = rows.length > page.limit
  return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null }
}

/** The query behind `listAudit` (one row more than the page, to tell whether more follow). */
export function listAuditQuery(db: Db, filters: AuditFilters, page: AuditPage) {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE_SIZE) {
    throw new AppError("BAD_REQUEST", `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`)
  }
  let beforeId: number | undefined
  if (page.cursor !== undefined) {
    const before = decodeCursor(page.cursor)
    if (before === null) throw new AppError("BAD_REQUEST", "invalid cursor")
    beforeId = before
  }
  return auditPageQuery(db, filters, { beforeId, limit: page.limit + 1 })
}

export const CSV_COLUMNS = [
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
] as const

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF; a cell a spreadsheet
 * would run as a formula (starting with = + - @, tab or CR) gets a leading `'`.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ""
  let s =
    value instanceof Date
      ? value.toISOString()
      : typeof value === "object"
        ? JSON.stringify(value)
        : String(value)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function csvRow(row: AuditRow): string {
  return (
    [
      row.id,
      row.eventId,
      row.occurredAt,
      row.event,
      row.actorType,
      row.actorId,
      row.subjectId,
      row.ip,
      row.userAgent,
      row.flowId,
      row.requestId,
      row.posture,
      row.details,
      row.prevHash,
      row.hash,
    ]
      .map(csvCell)
      .join(",") + "\r\n"
  )
}

/**
 * Writes every matching entry as CSV (header first) in id order, `batchSize` rows per query
 * (keyset on id), honouring the stream's back-pressure: memory stays bounded by one batch
 * however many rows match. Does not end `out`. Answers how many rows and queries it took.
 */
export async function streamAuditCsv(
  database: Database,
  filters: AuditFilters,
  out: Writable,
  opts: { batchSize?: number } = {},
): Promise<{ rows: number; batches: number }> {
  const batchSize = opts.batchSize ?? 1000
  const write = async (chunk: string) => {
    if (out.destroyed) throw new Error("the CSV output was closed")
    if (!out.write(chunk)) await drainOrClose(out)
  }
  await write(CSV_COLUMNS.join(",") + "\r\n")
  let lastId = 0
  let rows = 0
  let batches = 0
  for (;;) {
    const batch = await auditBatchAfter(database.db, filters, lastId, batchSize)
    batches++
    if (batch.length > 0) {
      await write(batch.map(csvRow).join(""))
      rows += batch.length
      lastId = batch[batch.length - 1]!.id
    }
    if (batch.length < batchSize) return { rows, batches }
  }
}

/** Waits for `drain`, or for `close` (the client went away), removing both listeners after. */
async function drainOrClose(out: Writable): Promise<void> {
  const ac = new AbortController()
  try {
    await Promise.race([
      once(out, "drain", { signal: ac.signal }),
      once(out, "close", { signal: ac.signal }),
    ])
  } finally {
    ac.abort()
  }
}

import type { Db } from "../../../db/client"
import { failedOutboxRows, outboxStatus, requeueFailed } from "../../data/outbox"

/** A notification that failed at least once: `dead` (gave up) or `pending` with errors (retrying). */
export interface FailedNotification {
  id: string
  auditEventId: string
  kind: string
  recipient: string
  subject: string
  status: "dead" | "pending" | "sending"
  attempts: number
  lastError: string | null
  nextAttemptAt: string
  createdAt: string
  messageId: string
}

export interface FailedPage {
  items: FailedNotification[]
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null
}

const cursorOf = (createdAt: Date, id: string) =>
  Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url")

function parseCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|")
  const createdAt = new Date(at ?? "")
  if (!id || !/^[0-9a-f-]{36}$/i.test(id) || Number.isNaN(createdAt.getTime())) return null
  return { createdAt, id }
}

/** Whether `cursor` is one this module hands out (checked before a request is audited). */
export function isNotificationCursor(cursor: string): boolean {
  return parseCursor(cursor) !== null
}

export class InvalidCursorError extends Error {
  constructor() {
    super("invalid cursor")
    this.name = "InvalidCursorError"
  }
}

/**
 * Notifications that could not be delivered: dead ones, and ones still retrying after a
 * failure (attempts > 0), newest first, keyset-paginated. `status` narrows to one of the two.
 * Throws InvalidCursorError on a cursor this function did not hand out.
 */
export async function listFailedNotifications(
  db: Db,
  opts: { limit?: number; cursor?: string | null; status?: "dead" | "retrying" } = {},
): Promise<FailedPage> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500)
  const before = opts.cursor ? parseCursor(opts.cursor) : null
  if (opts.cursor && !before) throw new InvalidCursorError()
  const rows = await failedOutboxRows(db, { status: opts.status, before, limit: limit + 1 })
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    items: page.map((r) => ({
      id: r.id,
      auditEventId: r.auditEventId,
      kind: r.kind,
      recipient: r.recipient,
      subject: r.subject,
      status: r.status as FailedNotification["status"],
      attempts: r.attempts,
      lastError: r.lastError,
      nextAttemptAt: r.nextAttemptAt.toISOString(),
      createdAt: r.createdAt.toISOString(),
      messageId: r.messageId,
    })),
    nextCursor: rows.length > limit && last ? cursorOf(last.createdAt, last.id) : null,
  }
}

export type RetryResult =
  | { status: "queued" }
  | { status: "not_found" }
  /** Sent already (a retry would mail it twice) or not failed (pending/sending without errors). */
  | { status: "not_retryable"; current: string }

/**
 * Puts a failed notification back in the queue with a fresh set of attempts, due now. The
 * Message-ID stays, so a recipient who did get an earlier attempt sees the same message.
 * Audit the admin's action in the same transaction if needed (pass the transaction as `db`).
 */
export async function retryNotification(db: Db, id: string): Promise<RetryResult> {
  if (await requeueFailed(db, id)) return { status: "queued" }
  const current = await outboxStatus(db, id)
  return current !== null ? { status: "not_retryable", current } : { status: "not_found" }
}

import type { Logger } from "pino"
import type { Database, Db } from "../../db/client"
import { atomic, type Statement } from "../data/transaction"
import { enqueueIfAuditedStatement } from "../data/outbox"
import type { KratosAdmin } from "../kratos/admin"
import type { CredentialSummary } from "../kratos/identity"
import { appendStatements, checkChainLock, type AuditEntryInput } from "./audit"
import { type Authorization } from "./authorization"
import { recheck, type SyncSource } from "./kratos-sync"
import { notificationsFor, type NotifyInput } from "./notifications/enqueue"

/** What the Kratos hooks' use cases (settings, login, registration, the reconciler) use. */
export interface ChangeDeps {
  database: Database
  kratos: KratosAdmin
  log: Logger
  maxPasswordChangesPerHour: number
  /** For the Security-page link in user notifications (optional: mails read fine without). */
  publicUrl?: string
}

/**
 * A hook's writes as one transaction sent at once (`atomic`, data/transaction.ts): statements
 * of other tables, and audit entries (chain lock, append), each with its notifications, which
 * are written only if the entry is new (a replayed delivery finds the entry and its
 * notifications already written).
 */
export function trailWrite() {
  const statements: Statement[] = []
  const locks: number[] = []
  return {
    add(statement: Statement) {
      statements.push(statement)
    },
    entry(entry: AuditEntryInput, mail: Omit<NotifyInput, "auditEventId"> | null = null) {
      const append = appendStatements(entry)
      locks.push(statements.length)
      statements.push(...append.statements)
      const queued = mail
        ? enqueueIfAuditedStatement(notificationsFor({ ...mail, auditEventId: append.eventId }))
        : null
      if (queued) statements.push(queued)
    },
    async commit(db: Db): Promise<void> {
      if (statements.length === 0) return
      const results = await atomic(db, statements)
      for (const i of locks) checkChainLock(results[i]!)
    },
  }
}

/** Who an entry of a person's own change names: they act on themselves, from a flow's client. */
export function selfActed(
  identityId: string,
  from: { ip: string | null; userAgent: string | null; flowId: string; requestId: string | null },
) {
  return { actorType: "user" as const, actorId: identityId, subjectId: identityId, ...from }
}

/**
 * After a hook's writes: Kratos is brought in step if it does not hold the service's record.
 * The hook's answer does not wait on it succeeding (the next hook or the reconciler tries
 * again), so a failure is logged.
 */
export async function inStepAfterHook(
  d: ChangeDeps,
  identityId: string,
  after: CredentialSummary,
  opts: { source: SyncSource; flowId: string; requestId: string },
  known: Authorization | null,
): Promise<void> {
  await recheck(d, identityId, after, opts, known).catch((err: unknown) =>
    d.log.warn({ err, identityId }, `${opts.source}: Kratos not brought in step`),
  )
}

/**
 * How a use case runs the statements of several repositories as one transaction, on the fast
 * paths of db/raw.ts: `atomic` sends a list of statements (from the repositories' `…Statement`
 * builders) with BEGIN and COMMIT in one round trip; `pipelinedTransaction` hands its work a
 * `query` (the transaction, for the repositories' `…In` functions) and sends the statements it
 * answers with COMMIT. A plain drizzle transaction (`db.transaction`) is a `Db` like the pool.
 */
export { atomic, pipelinedTransaction, type Statement } from "../../db/raw"

/** A pipelined transaction's query: statements started together share a round trip. */
export type Query = <R>(text: string, values?: unknown[]) => Promise<R[]>

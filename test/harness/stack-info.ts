import { readFileSync } from "node:fs"
import path from "node:path"

export const STACK_FILE_ENV = "KG_STACK_FILE"
/** The service bundle the run's stacks start (built by the global setup); the source through tsx when unset. */
export const SERVICE_BUNDLE_ENV = "KG_SERVICE_BUNDLE"

/** What the global setup started, as the tests see it. */
export interface StackInfo {
  runId: string
  dataDir: string
  publicUrl: string
  kratosPublicUrl: string
  kratosAdminUrl: string
  webhookApiKey: string
  serviceDatabaseUrl: string | null
  serviceEnv: Record<string, string>
  /** The SMTP sink's JSON inbox (newest first), a process of its own; null without one. */
  mailMessagesUrl: string | null
}

let cached: StackInfo | undefined

export function stackInfo(): StackInfo {
  if (cached) return cached
  const file = process.env[STACK_FILE_ENV]
  if (!file)
    throw new Error(
      `${STACK_FILE_ENV} is not set: run integration tests through jest's global setup`,
    )
  // One stack per jest worker (test/harness/global-setup.ts); a run in band has one.
  const files = file.split(path.delimiter)
  const worker = Math.max(1, Number(process.env.JEST_WORKER_ID ?? 1))
  cached = JSON.parse(readFileSync(files[(worker - 1) % files.length]!, "utf8")) as StackInfo
  return cached
}

import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import path from "node:path"

/** The hooks whose bodies the real jsonnet produced, recorded by bench/capture-fixtures.ts. */
export type RecordedHook =
  | "registration.password.pre"
  | "registration.password.post"
  | "login.password"
  | "settings.totp.pre"
  | "settings.totp.post"
  | "settings.password.pre"
  | "settings.password.post"

export type HookBody = { flow_id: string; identity_id: string; [field: string]: unknown }

const DIR = path.join(__dirname, "..", "..", "bench", "fixtures", "hooks")
const PLACEHOLDER_IDENTITY = "11111111-1111-4111-8111-111111111111"

/**
 * A body as Kratos's jsonnet sends it for this hook, with a fresh flow id (and session id), and
 * the identity given (a real one when the hook looks it up in Kratos; a random one otherwise).
 */
export function recordedHookBody(hook: RecordedHook, identityId: string = randomUUID()): HookBody {
  const body = JSON.parse(readFileSync(path.join(DIR, `${hook}.json`), "utf8")) as HookBody
  body.flow_id = randomUUID()
  if (body.identity_id === PLACEHOLDER_IDENTITY) body.identity_id = identityId
  const session = body.session as { id?: string } | undefined
  if (session?.id) session.id = randomUUID()
  return body
}

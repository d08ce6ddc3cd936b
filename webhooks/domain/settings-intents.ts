import type { Db } from "../../db/client"
import { insertIntent, newestIntent } from "../data/settings-intents"

/**
 * What a settings submission asked for that no Kratos webhook can see (the request body is not
 * in a webhook's context): which WebAuthn key or passkey is being removed, or whether recovery
 * codes are being disabled. (A TOTP unlink needs none: the credential is still there when the
 * pre-persist hook reads it, so its presence tells an unlink from a link.) The Kratos proxy records it before forwarding the
 * submission; the webhook that runs during the same submit reads it with `latestIntent`.
 */
export const intentKinds = ["webauthn_remove", "passkey_remove", "lookup_secret_disable"] as const
export type IntentKind = (typeof intentKinds)[number]

export interface NewIntent {
  flowId: string
  kind: IntentKind
  /** e.g. the hex credential id of the key being removed; null for yes/no intents. */
  detail?: string | null
}

export interface Intent {
  id: number
  flowId: string
  kind: string
  detail: string | null
  createdAt: Date
}

export async function recordIntent(db: Db, intent: NewIntent): Promise<void> {
  await insertIntent(db, {
    flowId: intent.flowId,
    kind: intent.kind,
    detail: intent.detail ?? null,
  })
}

/**
 * The newest intent of one of `kinds` for this flow, recorded within the last `sinceMs`
 * milliseconds by the database clock (replicas' clocks don't matter), or null.
 *
 * Note: after a `session_refresh_required` re-login, Kratos resumes the paused submission on
 * `GET /self-service/settings?flow=` (continuity cookie, up to 15 minutes later); the intent
 * was recorded at the original POST, so pick a window that covers that.
 */
export async function latestIntent(
  db: Db,
  flowId: string,
  kinds: readonly string[],
  sinceMs: number,
): Promise<Intent | null> {
  if (kinds.length === 0) return null
  const seconds = Math.max(0, sinceMs) / 1000
  return newestIntent(db, flowId, kinds, seconds)
}

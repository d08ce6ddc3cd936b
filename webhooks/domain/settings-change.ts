import type { SettingsHookBody, SettingsMethod } from "../../kratos/hooks/bodies"
import { authzFromJson } from "../data/authz"
import { insertPendingStatement, pendingWithAuthz } from "../data/pending-changes"
import { fingerprint, type CredentialSummary } from "../kratos/identity"
import {
  authorizationOf,
  expectedKratos,
  kratosSideOf,
  newRevision,
  withAuthorization,
  type Authorization,
} from "./authorization"
import { beginSettingsWrite, endSettingsWrite } from "./settings-write"
import { inStepAfterHook, type ChangeDeps } from "./hook-trail"
import { getOrgPolicyCached } from "./org-policy"
import { recordChange } from "./record-change"
import { latestIntent } from "./settings-intents"
import { checkSettingsChange, type Refusal, type SettingsIntent } from "./settings-rules"

/** How long an intent noted by the proxy belongs to its flow: Kratos resumes a change paused for re-login up to 15 minutes later. */
const INTENT_WINDOW_MS = 15 * 60_000

/** What the pre-persist hook answers Kratos: a refusal, or the identity values to persist. */
export type PrePersistAnswer =
  { refusal: Refusal } | { identity: ReturnType<typeof expectedKratos> }

/**
 * Pre-persist: decides whether Kratos may persist a settings change and, if so, records it as
 * pending and answers the service's record of role, manager, flags and state, which Kratos
 * then persists with the change (it would otherwise write back the copy it loaded when the
 * request began). Reads the current credentials from the admin API (the webhook never sees
 * them), so a failure there throws and the change fails closed.
 */
export async function beforeSettingsChange(
  d: ChangeDeps,
  method: SettingsMethod,
  body: SettingsHookBody,
  requestId: string,
): Promise<PrePersistAnswer> {
  // Before the lock: its transaction holds a pool connection and must not wait for another.
  const [policy, asked] = await Promise.all([
    getOrgPolicyCached(d.database.db),
    askedIntent(d, method, body),
  ])
  // Under the identity's lock: the decision, then the lease and the pending record in the
  // same transaction (a refusal writes nothing).
  const write = await beginSettingsWrite(
    d,
    body,
    async ({ authz, summary, recentPasswordChanges }) => {
      const before = withAuthorization(summary, authz)
      const intent = classify(method, body, before, asked)
      const refusal = checkSettingsChange({
        method,
        intent,
        before,
        policy,
        newTraits: body.identity.traits,
        passwordChangesLastHour: recentPasswordChanges,
        maxPasswordChangesPerHour: d.maxPasswordChangesPerHour,
      })
      if (refusal) return { refusal }
      const pending = insertPendingStatement({
        changeKey: preKey(body, method, before),
        flowId: body.flow_id,
        method,
        identityId: body.identity_id,
        intent: intent.kind,
        before,
        ip: body.client.ip,
        userAgent: body.client.user_agent,
        requestId,
      })
      return { value: null, write: pending }
    },
    method === "password" ? { passwordWindowMs: 60 * 60_000 } : {},
  )
  if (write.kind === "gone") {
    return { refusal: { id: 4100100, text: "This account no longer exists.", pointer: "#/" } }
  }
  if (write.kind === "refused") {
    d.log.info(
      { identityId: body.identity_id, method, refusal: write.refusal.id },
      "settings change refused",
    )
    return { refusal: write.refusal }
  }
  // With a new revision: a submit that loaded the identity before this one persists is refused.
  return { identity: expectedKratos(write.authz, kratosSideOf(write.summary), newRevision()) }
}

/**
 * Post-persist: Kratos has stored the change. Writes its audit entries (deduplicated, so a
 * retried delivery adds nothing) and marks the pending record confirmed.
 */
export async function afterSettingsChange(
  d: ChangeDeps,
  method: SettingsMethod,
  body: SettingsHookBody,
  requestId: string,
): Promise<void> {
  const db = d.database.db
  // The pending record and the service's record in one statement, beside the Kratos read.
  const [read, after] = await Promise.all([
    pendingWithAuthz(db, body.flow_id, method, body.identity_id),
    d.kratos.summary(body.identity_id),
  ])
  const release = () => endSettingsWrite(db, body.identity_id, body.flow_id)
  if (!after) {
    await release()
    return
  }
  const pending = read?.pending ?? null
  const before = pending ? (pending.before as CredentialSummary) : null
  let now: Authorization | null
  try {
    const authz = read?.authz
      ? authzFromJson(read.authz)
      : await authorizationOf(d, body.identity_id, after)
    await recordChange(d, {
      method,
      before,
      after: authz ? withAuthorization(after, authz) : after,
      traits: { previous: body.previous_traits, current: body.identity.traits },
      flowId: body.flow_id,
      ip: body.client.ip,
      userAgent: body.client.user_agent,
      requestId,
      pendingId: pending ? Number(pending.id) : null,
    })
  } finally {
    // After the audit entries: what this write did is in the trail before any other write of
    // this identity (a 2FA reset waiting for it, the next submit) can be.
    now = await release()
  }
  // Kratos wrote what the pre-persist hook answered; a change made to the record since then
  // (its own sync waits for this release) or a write that slipped past is applied here.
  await inStepAfterHook(
    d,
    body.identity_id,
    after,
    { source: "settings", flowId: body.flow_id, requestId },
    now,
  )
}

/** The removal a settings form asked for (noted by the proxy), for the methods that have one. */
const ASKED: Partial<Record<SettingsMethod, string>> = {
  lookup_secret: "lookup_secret_disable",
  webauthn: "webauthn_remove",
  passkey: "passkey_remove",
}

/**
 * The intent the proxy noted for this flow, read before the identity's lock is taken (the
 * transaction under it holds a pool connection and must not wait for another).
 */
async function askedIntent(d: ChangeDeps, method: SettingsMethod, body: SettingsHookBody) {
  const kind = ASKED[method]
  if (!kind) return null
  if (method === "lookup_secret" && body.action_nodes.includes("lookup_secret_confirm")) return null
  return latestIntent(d.database.db, body.flow_id, [kind], INTENT_WINDOW_MS)
}

function classify(
  method: SettingsMethod,
  body: SettingsHookBody,
  before: CredentialSummary,
  asked: Awaited<ReturnType<typeof askedIntent>>,
): SettingsIntent {
  switch (method) {
    case "password":
      return { kind: "password_change" }
    case "profile":
      return { kind: "profile_update" }
    case "totp":
      // In pre-persist the admin API still shows the old state: TOTP present means unlink.
      return before.totp ? { kind: "totp_unlink" } : { kind: "totp_link" }
    case "lookup_secret": {
      if (body.action_nodes.includes("lookup_secret_confirm"))
        return { kind: "recovery_codes_confirm" }
      // Kratos rewrites the form to a lone "regenerate" button before a disable runs its hooks.
      if (asked || before.lookupSecret) return { kind: "recovery_codes_disable" }
      return { kind: "recovery_codes_confirm" }
    }
    case "webauthn":
      return asked?.detail
        ? { kind: "webauthn_remove", keyId: asked.detail }
        : { kind: "webauthn_add" }
    case "passkey":
      return asked?.detail
        ? { kind: "passkey_remove", keyId: asked.detail }
        : { kind: "passkey_add" }
  }
}

/**
 * One pending record per change: a retried delivery sees the same before-state (nothing was
 * persisted in between), a second change on the same flow sees the state the first one left.
 */
function preKey(body: SettingsHookBody, method: SettingsMethod, before: CredentialSummary): string {
  return `settings:${body.flow_id}:${method}:${fingerprint(JSON.stringify(before))}`
}

import type { LoginHookBody } from "../../kratos/hooks/bodies"
import { earlierLogins, type EarlierLogin } from "../data/audit-events"
import { authzFromJson } from "../data/authz"
import { posture } from "../kratos/identity"
import { authorizationOf, authzRefusals, withAuthorization } from "./authorization"
import { deviceFingerprint } from "./device"
import { inStepAfterHook, selfActed, trailWrite, type ChangeDeps } from "./hook-trail"
import type { Refusal } from "./settings-rules"

/**
 * A successful login, recorded before Kratos issues the session (the hook runs first). Refused
 * when the service's record says the person is deactivated (whatever Kratos's copy says), and
 * Kratos is brought in step when its copy differs.
 */
export async function recordLogin(
  d: ChangeDeps,
  method: string,
  body: LoginHookBody,
  requestId: string,
): Promise<Refusal | null> {
  // Read before the transaction: the device check reads only history, and every statement
  // after the audit append runs under the chain lock. The record and the history in one statement.
  const [read, after] = await Promise.all([
    earlierLogins(d.database.db, body.identity_id),
    d.kratos.summary(body.identity_id),
  ])
  if (!after) return null
  const newDevice = isNewDevice(read?.earlier ?? [], body.client.user_agent)
  const authz = read?.authz
    ? authzFromJson(read.authz)
    : await authorizationOf(d, body.identity_id, after)
  if (authz?.state === "inactive") {
    d.log.info({ identityId: body.identity_id, method }, "login of a deactivated person refused")
    return authzRefusals.deactivated
  }
  const decided = authz ? withAuthorization(after, authz) : after
  const aal = body.session?.aal ?? null
  // The flow id, not the session id: Kratos has not stored the new session when this runs.
  const key = `login:${body.flow_id}:${method}`
  const occurredAt = new Date()
  const state = posture(decided, { aal })
  const from = { ip: body.client.ip, userAgent: body.client.user_agent }
  const entry = (
    event: "auth.login" | "auth.recovery_code_used",
    details: Record<string, unknown>,
  ) => ({
    event,
    ...selfActed(body.identity_id, { ...from, flowId: body.flow_id, requestId }),
    posture: state,
    details,
    dedupKey: `${key}:${event}`,
    occurredAt,
  })
  const notify = {
    subject: { id: body.identity_id, email: after.email },
    occurredAt,
    ...from,
    publicUrl: d.publicUrl,
  }
  const write = trailWrite()
  write.entry(
    entry("auth.login", { method, aal, refresh: body.refresh, requested_aal: body.requested_aal }),
    newDevice ? { ...notify, event: "auth.login", newDevice, details: { method } } : null,
  )
  if (method === "lookup_secret") {
    const details = { recovery_codes_left: after.lookupSecret?.unused ?? 0 }
    write.entry(entry("auth.recovery_code_used", details), {
      ...notify,
      event: "auth.recovery_code_used",
      details,
    })
  }
  await write.commit(d.database.db)
  await inStepAfterHook(
    d,
    body.identity_id,
    after,
    { source: "login", flowId: body.flow_id, requestId },
    authz,
  )
  return null
}

/**
 * Whether a login comes from a device (browser family + OS) this account has not signed in
 * from before. The first login of an account is not "new" (there is nothing to compare with);
 * the device it registered from counts as known.
 */
function isNewDevice(earlier: EarlierLogin[], userAgent: string | null): boolean {
  if (!earlier.some((e) => e.event === "auth.login")) return false
  const device = deviceFingerprint(userAgent)
  return !earlier.some((e) => deviceFingerprint(e.user_agent) === device)
}

import type { RegistrationHookBody } from "../../kratos/hooks/bodies"
import { insertAuthorizationStatement } from "../data/authz"
import { posture } from "../kratos/identity"
import { kratosSideOf, seedFrom } from "./authorization"
import { selfActed, trailWrite, type ChangeDeps } from "./hook-trail"

/** Everyone starts as a member; the role is set before Kratos stores the new identity. */
export function registrationMetadata(body: RegistrationHookBody, now = new Date()) {
  const existing = (body.identity.metadata_public ?? {}) as Record<string, unknown>
  return { ...existing, role: "member", role_assigned_at: now.toISOString() }
}

/**
 * Post-persist of a registration: the new member's record in the service, from what the
 * pre-persist hook had Kratos store, and the audit entry, in one transaction sent at once.
 */
export async function recordRegistration(
  d: ChangeDeps,
  method: string,
  body: RegistrationHookBody,
  requestId: string,
): Promise<void> {
  if (!body.identity_id) return
  const after = await d.kratos.summary(body.identity_id)
  if (!after) return
  const write = trailWrite()
  write.add(
    insertAuthorizationStatement(seedFrom(body.identity_id, kratosSideOf(after), "registration")),
  )
  write.entry({
    event: "auth.registered",
    ...selfActed(body.identity_id, {
      ip: body.client.ip,
      userAgent: body.client.user_agent,
      flowId: body.flow_id,
      requestId,
    }),
    posture: posture(after),
    details: { method },
    dedupKey: `registered:${body.identity_id}`,
  })
  await write.commit(d.database.db)
}

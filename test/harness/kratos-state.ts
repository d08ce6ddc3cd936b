import { kratosClients } from "./kratos"

/**
 * What Kratos holds for an identity, read through its admin API: the identity with every
 * credential's config (so a removed factor, a new password hash or a metadata write shows) and
 * its sessions. Two equal snapshots mean nothing was written in between.
 */
export async function kratosState(identityId: string) {
  const { identities } = kratosClients()
  const [{ data: identity }, { data: sessions }] = await Promise.all([
    identities.getIdentity({
      id: identityId,
      includeCredential: ["password", "totp", "lookup_secret", "webauthn", "passkey"],
    }),
    identities.listIdentitySessions({ id: identityId }),
  ])
  return {
    identity,
    sessions: sessions
      .map((s) => ({ id: s.id, active: s.active, aal: s.authenticator_assurance_level }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  }
}

/** Upper-cases every letter of a UUID (`0b3f…` → `0B3F…`). */
export const upper = (id: string) => id.toUpperCase()

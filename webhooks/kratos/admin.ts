import {
  Configuration,
  IdentityApi,
  type CreateIdentityBody,
  type Identity,
  type JsonPatch,
  type RecoveryCodeForIdentity,
  type Session,
} from "@ory/client"
import { CREDENTIALS_TO_INCLUDE, summarise, type CredentialSummary } from "./identity"
import { createUpstream, isNotFound, nextPageToken } from "./transport"

/** A credential type whose removal the admin API offers. */
export type RemovableCredential = "totp" | "lookup_secret" | "webauthn"

/**
 * The Kratos admin API, reachable only from the service: every admin operation the service
 * performs, by name. A missing identity is `null` (or `false`) where callers need to tell it
 * apart; other failures throw.
 */
export interface KratosAdmin {
  /** Resolves when Kratos admin reports ready; rejects otherwise. */
  ready(timeoutMs?: number): Promise<void>
  /** The identity's credentials and metadata with every secret dropped; null if it is gone. */
  summary(identityId: string): Promise<CredentialSummary | null>
  /** The identity with every credential the summary reads (the password hash among them). */
  identityWithCredentials(identityId: string): Promise<Identity | null>
  /** The identity as Kratos stores it (with the password credential's hash when asked). */
  identity(identityId: string, opts?: { withPasswordHash?: boolean }): Promise<Identity | null>
  /** The identities among these ids that exist (one listing, no credentials). */
  identitiesByIds(ids: string[]): Promise<Identity[]>
  /** The identity that signs in with this identifier (e.g. an email address), if any. */
  findByIdentifier(identifier: string): Promise<Identity | null>
  /**
   * One page of identities; `withCredentialTypes` also lists each one's credential types (and
   * which WebAuthn keys are passwordless), no secret.
   */
  listIdentities(page: {
    pageSize: number
    pageToken?: string
    withCredentialTypes?: boolean
  }): Promise<{ identities: Identity[]; nextPageToken: string | undefined }>
  patchIdentity(identityId: string, patch: JsonPatch[]): Promise<void>
  /** Removes one credential type; false when the identity had none of it. */
  deleteCredential(identityId: string, type: RemovableCredential): Promise<boolean>
  /** Ends every session of the identity (none, or no identity, is fine). */
  deleteSessions(identityId: string): Promise<void>
  /** Ends one session (`DELETE /admin/sessions/{id}`); false when Kratos has no such session. */
  disableSession(sessionId: string): Promise<boolean>
  activeSessions(identityId: string): Promise<Session[]>
  createIdentity(body: CreateIdentityBody): Promise<Identity>
  createRecoveryCode(identityId: string, expiresIn: string): Promise<RecoveryCodeForIdentity>
}

export function createKratosAdmin(adminUrl: string): KratosAdmin {
  const upstream = createUpstream(adminUrl)
  // The SDK's own HTTP client is told to throw on error statuses again (the upstream's instance
  // answers every status for hand-made calls; the SDK expects axios's default).
  const identities = new IdentityApi(
    new Configuration({ basePath: adminUrl, baseOptions: { validateStatus: okStatus } }),
    adminUrl,
    upstream.http,
  )
  const orNull = async <T>(call: () => Promise<T>): Promise<T | null> => {
    try {
      return await call()
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }
  const withCredentials = (identityId: string) =>
    orNull(
      async () =>
        (
          await identities.getIdentity({
            id: identityId,
            includeCredential: [...CREDENTIALS_TO_INCLUDE],
          })
        ).data,
    )
  return {
    ready: async (timeoutMs = 2000) => {
      const res = await upstream.http.get("/admin/health/ready", { timeout: timeoutMs })
      if (res.status !== 200) throw new Error(`Kratos admin is not ready (${res.status})`)
    },
    identityWithCredentials: (identityId) => withCredentials(identityId),
    summary: async (identityId) => {
      const data = await withCredentials(identityId)
      return data ? summarise(data) : null
    },
    identity: (identityId, opts) =>
      orNull(
        async () =>
          (
            await identities.getIdentity({
              id: identityId,
              ...(opts?.withPasswordHash ? { includeCredential: ["password"] } : {}),
            })
          ).data,
      ),
    identitiesByIds: async (ids) =>
      ids.length === 0
        ? []
        : (await identities.listIdentities({ ids, pageSize: Math.max(ids.length, 1) })).data,
    findByIdentifier: async (identifier) => {
      const { data } = await identities.listIdentities({ credentialsIdentifier: identifier })
      return data[0] ?? null
    },
    listIdentities: async ({ pageSize, pageToken, withCredentialTypes }) => {
      // Asking for WebAuthn's config also lists every credential type (without its config).
      const res = await identities.listIdentities({
        pageSize,
        pageToken,
        ...(withCredentialTypes ? { includeCredential: ["webauthn"] } : {}),
      })
      return {
        identities: res.data,
        nextPageToken: nextPageToken(res.headers.link as string | undefined),
      }
    },
    patchIdentity: async (identityId, jsonPatch) => {
      await identities.patchIdentity({ id: identityId, jsonPatch })
    },
    deleteCredential: async (identityId, type) =>
      (await orNull(() => identities.deleteIdentityCredentials({ id: identityId, type }))) !== null,
    deleteSessions: async (identityId) => {
      await orNull(() => identities.deleteIdentitySessions({ id: identityId }))
    },
    disableSession: async (sessionId) =>
      (await orNull(() => identities.disableSession({ id: sessionId }))) !== null,
    activeSessions: async (identityId) =>
      (await identities.listIdentitySessions({ id: identityId, active: true })).data,
    createIdentity: async (body) =>
      (await identities.createIdentity({ createIdentityBody: body })).data,
    createRecoveryCode: async (identityId, expiresIn) =>
      (
        await identities.createRecoveryCodeForIdentity({
          createRecoveryCodeForIdentityBody: { identity_id: identityId, expires_in: expiresIn },
        })
      ).data,
  }
}

const okStatus = (status: number) => status >= 200 && status < 300

import http from "node:http"
import { Configuration, IdentityApi } from "@ory/client"
import axios, { type AxiosInstance } from "axios"
import { CREDENTIALS_TO_INCLUDE, summarise, type CredentialSummary } from "./identity"

/** The Kratos admin API, reachable only from the service. */
export interface KratosAdmin {
  readonly identities: IdentityApi
  /** Resolves when Kratos admin reports ready; rejects otherwise. */
  ready(timeoutMs?: number): Promise<void>
  /** The identity's credentials and metadata with every secret dropped; null if it is gone. */
  summary(identityId: string): Promise<CredentialSummary | null>
}

export function createKratosAdmin(adminUrl: string): KratosAdmin {
  const http_: AxiosInstance = axios.create({
    baseURL: adminUrl,
    timeout: 5000,
    httpAgent: new http.Agent({ keepAlive: true }),
  })
  const identities = new IdentityApi(new Configuration({ basePath: adminUrl }), adminUrl, http_)
  return {
    identities,
    ready: async (timeoutMs = 2000) => {
      await http_.get("/admin/health/ready", { timeout: timeoutMs })
    },
    summary: async (identityId) => {
      try {
        const { data } = await identities.getIdentity({
          id: identityId,
          includeCredential: [...CREDENTIALS_TO_INCLUDE],
        })
        return summarise(data)
      } catch (err) {
        if (axios.isAxiosError(err) && err.response?.status === 404) return null
        throw err
      }
    },
  }
}

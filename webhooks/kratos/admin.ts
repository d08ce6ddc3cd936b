import http from "node:http"
import { Configuration, IdentityApi } from "@ory/client"
import axios, { type AxiosInstance } from "axios"

/** The Kratos admin API, reachable only from the service. */
export interface KratosAdmin {
  readonly identities: IdentityApi
  /** Resolves when Kratos admin reports ready; rejects otherwise. */
  ready(timeoutMs?: number): Promise<void>
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
  }
}

import http from "node:http"
import type { Session } from "@ory/client"
import axios, { type AxiosInstance } from "axios"
import type { Request } from "express"

/** Resolves the caller's Kratos session (browser cookie or `X-Session-Token`) via Kratos public. */
export interface SessionResolver {
  /**
   * With `bearer`, `Authorization: Bearer <token>` counts too: Kratos's self-service endpoints
   * read it after `X-Session-Token` and the session cookie (session/manager_http.go
   * extractToken), and whoami applies the same order, so the proxy finds the session Kratos
   * will act on. The `/api` routes take the first two only.
   */
  fromRequest(req: Request, opts?: { bearer?: boolean }): Promise<Session | null>
}

export function createSessionResolver(kratosPublicUrl: string): SessionResolver {
  const client: AxiosInstance = axios.create({
    baseURL: kratosPublicUrl,
    timeout: 5000,
    httpAgent: new http.Agent({ keepAlive: true }),
    validateStatus: () => true,
  })
  return {
    fromRequest: async (req, opts) => {
      const cookie = req.get("cookie")
      const token = req.get("x-session-token")
      const authorization = opts?.bearer ? req.get("authorization") : undefined
      if (!cookie && !token && !authorization) return null
      const res = await client.get<Session>("/sessions/whoami", {
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(token ? { "x-session-token": token } : {}),
          ...(authorization ? { authorization } : {}),
          accept: "application/json",
        },
      })
      if (res.status === 200 && res.data?.identity) return res.data
      if (res.status === 401 || res.status === 403) return null
      throw new Error(`Kratos whoami answered ${res.status}`)
    },
  }
}

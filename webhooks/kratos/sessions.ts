import http from "node:http"
import type { Session } from "@ory/client"
import axios, { type AxiosInstance } from "axios"
import type { Request } from "express"

/** Resolves the caller's Kratos session (browser cookie or `X-Session-Token`) via Kratos public. */
export interface SessionResolver {
  fromRequest(req: Request): Promise<Session | null>
  /**
   * The session of exactly these credentials, as the proxy forwards them to Kratos (one token
   * or Kratos's cookies; see proxy/canonical.ts `sessionCredential`).
   */
  fromCredential(caller: {
    token: string | null
    cookie: string | undefined
  }): Promise<Session | null>
}

export function createSessionResolver(kratosPublicUrl: string): SessionResolver {
  const client: AxiosInstance = axios.create({
    baseURL: kratosPublicUrl,
    timeout: 5000,
    httpAgent: new http.Agent({ keepAlive: true }),
    validateStatus: () => true,
  })
  const whoami = async (cookie: string | undefined, token: string | undefined) => {
    if (!cookie && !token) return null
    const res = await client.get<Session>("/sessions/whoami", {
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(token ? { "x-session-token": token } : {}),
        accept: "application/json",
      },
    })
    if (res.status === 200 && res.data?.identity) return res.data
    if (res.status === 401 || res.status === 403) return null
    throw new Error(`Kratos whoami answered ${res.status}`)
  }
  return {
    fromRequest: (req) => whoami(req.get("cookie"), req.get("x-session-token")),
    fromCredential: ({ token, cookie }) => whoami(token ? undefined : cookie, token ?? undefined),
  }
}

import http from "node:http"
import https from "node:https"
import axios, { type AxiosInstance } from "axios"

/**
 * One upstream (Kratos public or Kratos admin): its base URL, one keep-alive agent, and one
 * axios instance on that agent. Every call to that upstream goes through these, whether it is
 * an SDK call, a JSON read as the caller, or a proxied submission streamed as it is.
 */
export interface Upstream {
  readonly base: URL
  readonly agent: http.Agent
  /** Answers every status (callers decide what a 401 or 404 means); times out after timeoutMs. */
  readonly http: AxiosInstance
  readonly timeoutMs: number
}

export function createUpstream(baseUrl: string, timeoutMs = 5000): Upstream {
  const base = new URL(baseUrl)
  // No socket cap: a call waiting for a free socket has no timeout of its own, so a cap would
  // let slow proxied submissions hold up every session check behind them.
  const options = { keepAlive: true }
  const agent = base.protocol === "https:" ? new https.Agent(options) : new http.Agent(options)
  const client = axios.create({
    baseURL: baseUrl,
    timeout: timeoutMs,
    httpAgent: agent,
    httpsAgent: agent,
    validateStatus: () => true,
  })
  return { base, agent, http: client, timeoutMs }
}

/** Whether an SDK call failed because Kratos answered 404 (the identity or session is gone). */
export function isNotFound(err: unknown): boolean {
  return axios.isAxiosError(err) && err.response?.status === 404
}

/** The page token in a Kratos `Link: <…?page_token=…>; rel="next"` header, if any. */
export function nextPageToken(link: string | undefined): string | undefined {
  const next = link?.split(",").find((part) => /rel="next"/.test(part))
  const url = next?.match(/<([^>]+)>/)?.[1]
  return url
    ? (new URL(url, "http://kratos").searchParams.get("page_token") ?? undefined)
    : undefined
}

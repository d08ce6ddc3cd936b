import http from "node:http"
import type { Express, Request } from "express"
import type { Deps } from "../app"
import { forwardStreaming, sendUnreachable } from "../proxy/forward"
import { createSubmissionGuard } from "../proxy/guards"
import { redactUrl } from "../proxy/http-utils"

/** The Kratos public paths a browser needs; everything else of Kratos stays internal. */
export const KRATOS_PUBLIC_PATHS = ["/self-service/", "/sessions", "/.well-known/ory/", "/schemas/"]

export function isKratosPublicPath(path: string): boolean {
  return KRATOS_PUBLIC_PATHS.some((p) => path === p.replace(/\/$/, "") || path.startsWith(p))
}

/**
 * Proxies Kratos public on the service's own origin, so the browser, Kratos's cookies and its
 * CSRF tokens all live on one origin. It sets True-Client-IP (the header Kratos prefers for
 * session devices and webhook context) from the address Express resolved, after dropping any
 * client-sent copy. Mounted before any body parser.
 *
 * Settings, registration and login submissions (`POST /self-service/{settings,registration,
 * login}`) are read and checked first (proxy/guards.ts: password rules, settings intents,
 * brute-force limits) and forwarded byte for byte when they pass; every other request streams
 * through untouched.
 */
export function registerKratosProxy(app: Express, deps: Deps): void {
  const { config, log } = deps
  const target = new URL(config.KRATOS_PUBLIC_URL)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  app.use(createSubmissionGuard(deps))
  app.use((req: Request, res, next) => {
    if (!isKratosPublicPath(req.path)) return next()
    forwardStreaming(target, agent, req, res, (err) => {
      ;(req.log ?? log).warn(
        { err: { message: err.message }, url: redactUrl(req.originalUrl) },
        "Kratos public unreachable",
      )
      sendUnreachable(res)
    })
  })
}

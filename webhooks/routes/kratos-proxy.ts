import http from "node:http"
import type { Express, Request } from "express"
import { createProxyMiddleware } from "http-proxy-middleware"
import type { Deps } from "../app"
import { CLIENT_IP_HEADERS, sendUnreachable } from "../proxy/forward"
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
  const proxy = createProxyMiddleware<Request>({
    target: config.KRATOS_PUBLIC_URL,
    changeOrigin: true,
    xfwd: false,
    agent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    pathFilter: (path) => isKratosPublicPath(path),
    on: {
      proxyReq: (proxyReq, req) => {
        for (const h of CLIENT_IP_HEADERS) proxyReq.removeHeader(h)
        proxyReq.removeHeader("x-forwarded-for")
        if (req.ip) proxyReq.setHeader("True-Client-IP", req.ip)
      },
      error: (err, req, res) => {
        log.warn(
          { err: { message: err.message }, url: redactUrl(req.url ?? "") },
          "Kratos public unreachable",
        )
        if ("writeHead" in res && !res.headersSent) sendUnreachable(res)
      },
    },
  })
  app.use(createSubmissionGuard(deps))
  app.use(proxy)
}

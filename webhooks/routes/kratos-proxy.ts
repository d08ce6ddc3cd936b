import http from "node:http"
import type { Express, Request } from "express"
import { createProxyMiddleware } from "http-proxy-middleware"
import type { Deps } from "../app"

/** The Kratos public paths a browser needs; everything else of Kratos stays internal. */
export const KRATOS_PUBLIC_PATHS = ["/self-service/", "/sessions", "/.well-known/ory/", "/schemas/"]

/** Headers Kratos trusts for the client IP; a browser must not be able to set them. */
const CLIENT_IP_HEADERS = [
  "true-client-ip",
  "cf-connecting-ip",
  "x-real-ip",
  "cf-ipcity",
  "cf-ipcountry",
]

export function isKratosPublicPath(path: string): boolean {
  return KRATOS_PUBLIC_PATHS.some((p) => path === p.replace(/\/$/, "") || path.startsWith(p))
}

/**
 * Proxies Kratos public on the service's own origin, so the browser, Kratos's cookies and its
 * CSRF tokens all live on one origin. It sets True-Client-IP (the header Kratos prefers for
 * session devices and webhook context) from the address Express resolved, after dropping any
 * client-sent copy. Mounted before any body parser: the request body streams through untouched.
 */
export function registerKratosProxy(app: Express, { config, log }: Deps): void {
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
        log.warn({ err: { message: err.message }, url: req.url }, "Kratos public unreachable")
        if ("writeHead" in res && !res.headersSent) {
          res.writeHead(502, { "content-type": "application/json" })
          res.end(
            JSON.stringify({
              error: {
                code: 502,
                status: "Bad Gateway",
                message: "The identity service is unreachable.",
              },
            }),
          )
        }
      },
    },
  })
  app.use(proxy)
}

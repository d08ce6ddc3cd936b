import type { Express } from "express"
import type { Deps } from "../app"
import { AppError } from "../errors"
import { cleanPath } from "../proxy/canonical"
import { createKratosProxy } from "../proxy/guards"
import { isKratosPath } from "../proxy/routes"

/**
 * Proxies Kratos public on the service's own origin, so the browser, Kratos's cookies and its
 * CSRF tokens all live on one origin (proxy/guards.ts). Mounted before any body parser.
 *
 * First, for every request on the origin: a path that is not already clean (`//`, `.` or `..`
 * segments, percent-encoding, absolute-form) is refused with 400, so no component behind this
 * point — the proxy's route match, Express's router, Kratos's router — can read it as another
 * path than the others do.
 */
export function registerKratosProxy(app: Express, deps: Deps): void {
  const proxy = createKratosProxy(deps)
  app.use((req, res, next) => {
    const path = cleanPath(req.url)
    if (path === null) {
      res.setHeader("connection", "close")
      return next(new AppError("BAD_REQUEST", "the request path is not in its canonical form"))
    }
    if (!isKratosPath(path)) return next()
    proxy(req, res, next, path)
  })
}

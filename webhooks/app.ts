import compression from "compression"
import express, { type Express } from "express"
import { pinoHttp } from "pino-http"
import { randomUUID } from "node:crypto"
import type { Logger } from "pino"
import type { Database } from "../db/client"
import type { Config } from "./config"
import { AppError, errorHandler } from "./errors"
import type { KratosAdmin } from "./kratos/admin"
import type { KratosPublic } from "./kratos/public"
import { requireHookKey } from "./middleware/hook-auth"
import { requirePublicHost, securityHeaders } from "./middleware/security-headers"
import { redactUrl } from "./proxy/http-utils"
import { registerAdminRoutes } from "./routes/admin-routes"
import { registerApiKeyRoutes } from "./routes/api-key-routes"
import { registerAuthRoutes } from "./routes/auth-routes"
import { registerEventRoutes } from "./routes/event-routes"
import { registerHealthRoutes } from "./routes/health"
import { registerHookRoutes } from "./routes/hook-routes"
import { registerInternalRoutes } from "./routes/internal-routes"
import { registerKratosProxy } from "./routes/kratos-proxy"
import { registerMeRoutes } from "./routes/me-routes"
import { registerRecoveryRoutes } from "./routes/recovery-routes"
import { registerUiRoutes } from "./routes/ui"

export interface Deps {
  config: Config
  log: Logger
  database: Database
  /** Kratos admin, and Kratos public as the caller: the service's only ways to Kratos. */
  kratos: KratosAdmin
  kratosPublic: KratosPublic
  /** The clock of the use cases that read one (recovery requests' expiry); tests move it. */
  clock?: () => Date
}

function hasBody(req: express.Request): boolean {
  return Number(req.get("content-length") ?? 0) > 0 || req.get("transfer-encoding") !== undefined
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Builds the Express app; listening and shutdown belong to server.ts. */
export function createApp(deps: Deps): Express {
  const { config, log } = deps
  const app = express()
  app.disable("x-powered-by")
  app.set("trust proxy", config.TRUST_PROXY_HOPS)

  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const incoming = req.headers["x-request-id"]
        const id =
          typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID()
        res.setHeader("x-request-id", id)
        return id
      },
      autoLogging: { ignore: (req) => (req.url ?? "").startsWith("/health/") },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
        }),
      },
    }),
  )

  // Before everything else, so the proxied Kratos answers get the same headers and checks; the
  // headers first, so a refused host's 421 carries them too.
  app.use(securityHeaders(config.PUBLIC_URL))
  app.use(requirePublicHost(config.PUBLIC_URL))

  // Kratos public next, before any body parser: the proxy reads and re-encodes its bodies.
  registerKratosProxy(app, deps)

  const router = express.Router()
  registerHealthRoutes(router, deps)
  router.use(["/hooks", "/internal"], requireHookKey(config.KRATOS_WEBHOOK_API_KEY))
  router.use(
    ["/hooks", "/api", "/internal"],
    express.json({ limit: config.BODY_LIMIT, strict: true }),
  )
  router.use(["/hooks", "/api", "/internal"], (req, _res, next) => {
    // A body must be JSON; a POST without one (an action such as "ack") needs no content type.
    if (req.method === "POST" && hasBody(req) && !req.is("application/json")) {
      return next(new AppError("UNSUPPORTED_MEDIA_TYPE", "expected an application/json body"))
    }
    next()
  })
  registerHookRoutes(router, deps)
  registerInternalRoutes(router, deps)
  registerAuthRoutes(router, deps)
  registerAdminRoutes(router, deps)
  registerMeRoutes(router, deps)
  registerApiKeyRoutes(router, deps)
  registerRecoveryRoutes(router, deps)
  registerEventRoutes(router, deps)
  router.use(["/hooks", "/api", "/internal"], (_req, _res, next) =>
    next(new AppError("NOT_FOUND", "no such route")),
  )
  app.use(router)

  // After the proxy and the API: only the UI's own responses (a ~5 MB bundle) are compressed.
  app.use(compression())
  registerUiRoutes(app, deps)
  app.use(errorHandler(log))
  return app
}

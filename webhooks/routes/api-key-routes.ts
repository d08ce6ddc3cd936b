import type { Request, RequestHandler, Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import { apiKeyCreatedAnswer, apiKeyListAnswer, apiKeyRevokedAnswer } from "./answers"
import { actorOf, adminGuard, adminOf, parseOr400, reply } from "./edge"
import { requiredAalOf, sameOriginReturnTo, sendGateDecision } from "./gate-answer"
import {
  ApiKeyGate,
  createKey,
  listKeys,
  revokeKey,
  type ApiKeyDeps,
  type KeyActor,
} from "../domain/api-keys"
import { AppError } from "../errors"
import { roles } from "../policy/roles"
import {
  requireCsrfProtection,
  requireGate,
  requireSession,
  sessionOf,
} from "../middleware/session"
import { canonicalId, identityId } from "./ids"

/** No control characters (a label is shown in lists and written to the audit trail). */
const label = z
  .string()
  .trim()
  .min(1, "can't be empty")
  .max(64, "is at most 64 characters")
  .refine((v) => !/\p{Cc}/u.test(v), "can't hold control characters")

const createBody = z
  .object({
    label,
    scope: z.enum(roles).optional(),
    expires_at: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .refine((d) => d.getTime() < Date.now() + 10 * 366 * 86_400_000, "is too far ahead")
      .nullable()
      .optional(),
  })
  .strict()

/** The request's fields as the use case takes them. */
const keyInput = (body: z.infer<typeof createBody>) => ({
  label: body.label,
  scope: body.scope,
  expiresAt: body.expires_at ?? null,
})

const noQuery = z.object({}).strict()
const keyParams = z.object({ keyId: canonicalId("API key id") })
const userKeyParams = z.object({ id: identityId, keyId: canonicalId("API key id") })

/** The deps of the API-key use cases, from the app's. */
export function apiKeyDeps(deps: Deps): ApiKeyDeps {
  const c = deps.config
  return {
    database: deps.database,
    kratos: deps.kratos,
    limits: {
      maxPerAdmin: c.API_KEYS_MAX_PER_ADMIN,
      maxPerMember: c.API_KEYS_MAX_PER_MEMBER,
      requestsPerMinute: c.API_KEY_REQUESTS_PER_MINUTE,
      maxFailuresPerIp: c.API_KEY_MAX_FAILURES_PER_IP,
      failureWindowSeconds: c.API_KEY_FAILURE_WINDOW_SECONDS,
    },
  }
}

const OUR_SCHEME = /^[ \t]*bearer[ \t]+kg_/i
const BEARER = /^[ \t]*bearer[ \t]+(\S*)[ \t]*$/i

/**
 * The gate's API-key path: a request whose `Authorization` is `Bearer kg_…` is decided on the
 * key (domain/api-keys.ts) and answered here; any other request goes on to the session gate
 * (an app's own bearer credential is not ours to read).
 */
export function apiKeyGate(deps: Deps): RequestHandler {
  const gate = new ApiKeyGate(
    { ...apiKeyDeps(deps), publicUrl: deps.config.PUBLIC_URL },
    apiKeyDeps(deps).limits,
  )
  return async (req, res, next) => {
    const values = req.headersDistinct.authorization ?? []
    if (!values.some((v) => OUR_SCHEME.test(v))) return next()
    const returnTo = sameOriginReturnTo(req, deps.config.PUBLIC_URL)
    const cookies = req.headersDistinct.cookie ?? []
    const outcome = await gate.decide({
      presented: values.map((v) => BEARER.exec(v)?.[1] ?? ""),
      withSession:
        req.get("x-session-token") !== undefined ||
        cookies.some((c) => /(^|;)\s*ory_kratos_session=/.test(c)),
      ip: req.ip ?? null,
      requiredAal: requiredAalOf(req),
      returnTo,
    })
    res.set("cache-control", "no-store")
    if (outcome.kind === "refused") {
      const retryAfter = outcome.error.details?.retry_after
      if (typeof retryAfter === "number") res.set("retry-after", String(retryAfter))
      throw outcome.error
    }
    res.set("x-api-key-id", outcome.keyId)
    sendGateDecision(res, outcome.decision)
  }
}

/**
 * A person's own keys (`/api/me/api-keys`, behind the gate like the rest of the API) and an
 * admin's view of anyone's (`/api/admin/users/:id/api-keys`, AAL2). A key itself reaches none
 * of these: only the gate reads keys, so a key can't make or keep other keys.
 */
export function registerApiKeyRoutes(router: Router, deps: Deps): void {
  const { config, database, kratos, kratosPublic } = deps
  const keys = apiKeyDeps(deps)
  const session = requireSession(kratosPublic)
  const gated = requireGate({ database, kratos, publicUrl: config.PUBLIC_URL })
  const csrf = requireCsrfProtection(config.PUBLIC_URL)
  // No credentials at all → 401 first (as the other /api/me calls), then CSRF, the session, the gate.
  const anonymous401: RequestHandler = (req, _res, next) =>
    req.get("cookie") || req.get("x-session-token")
      ? next()
      : next(new AppError("UNAUTHORIZED", "sign in first", { reason: "session_required" }))
  const mine = [anonymous401, csrf, session, gated]
  const admin = adminGuard(deps)
  /** The acting session's last sign-in, and the privileged age Kratos keeps too. */
  const signInOf = (req: Request) => {
    const at = Date.parse(sessionOf(req).authenticated_at ?? "")
    return {
      at: Number.isNaN(at) ? null : new Date(at),
      maxAgeMs: config.KRATOS_PRIVILEGED_SESSION_MAX_AGE,
    }
  }
  const self = (req: Request): KeyActor => ({
    ...actorOf(req, sessionOf(req).identity!.id),
    type: "user",
  })

  router.use(["/api/me/api-keys", "/api/admin/users/:id/api-keys"], (_req, res, next) => {
    res.set("cache-control", "no-store")
    next()
  })

  router.get("/api/me/api-keys", ...mine, async (req, res) => {
    parseOr400(noQuery, req.query, "query")
    reply(res, apiKeyListAnswer, await listKeys(keys, sessionOf(req).identity!.id))
  })

  router.post("/api/me/api-keys", ...mine, async (req, res) => {
    const body = parseOr400(createBody, req.body, "body")
    const actor = self(req)
    const made = await createKey(keys, actor, actor.id, keyInput(body), signInOf(req))
    reply(res, apiKeyCreatedAnswer, { api_key: made.view, key: made.key }, 201)
  })

  router.delete("/api/me/api-keys/:keyId", ...mine, async (req, res) => {
    const { keyId } = parseOr400(keyParams, req.params, "path")
    const actor = self(req)
    reply(res, apiKeyRevokedAnswer, { revoked: await revokeKey(keys, actor, actor.id, keyId) })
  })

  router.get("/api/admin/users/:id/api-keys", ...admin, async (req, res) => {
    const { id } = parseOr400(z.object({ id: identityId }), req.params, "path")
    parseOr400(noQuery, req.query, "query")
    reply(res, apiKeyListAnswer, await listKeys(keys, id, adminOf(req)))
  })

  router.post("/api/admin/users/:id/api-keys", ...admin, async (req, res) => {
    const { id } = parseOr400(z.object({ id: identityId }), req.params, "path")
    const body = parseOr400(createBody, req.body, "body")
    const made = await createKey(keys, adminOf(req), id, keyInput(body), signInOf(req))
    reply(res, apiKeyCreatedAnswer, { api_key: made.view, key: made.key }, 201)
  })

  router.delete("/api/admin/users/:id/api-keys/:keyId", ...admin, async (req, res) => {
    const { id, keyId } = parseOr400(userKeyParams, req.params, "path")
    reply(res, apiKeyRevokedAnswer, {
      revoked: await revokeKey(keys, adminOf(req), id, keyId),
    })
  })
}

import type { IncomingMessage } from "node:http"
import type { Logger } from "pino"
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express"
import type { Deps } from "../app"
import { type AttemptOutcome, type LoginSubject, LoginThrottle } from "../domain/brute-force"
import { getOrgPolicyCached } from "../domain/org-policy"
import { checkPasswordReuse, type PasswordHistoryDeps } from "../domain/password-history"
import { recordIntent } from "../domain/settings-intents"
import { AppError } from "../errors"
import {
  decideSubmission,
  errorText,
  type Refusal,
  type ThrottleSubject,
} from "../policy/submission"
import {
  type Ambiguity,
  bodyFormat,
  canonicalFlowId,
  codingProblem,
  encodeBody,
  encodePairs,
  parseBody,
  parsePairs,
  rawQuery,
  sessionCredential,
} from "./canonical"
import {
  type InternalOrigins,
  type KratosRequest,
  publicRequest,
  relayResponse,
  sendUnreachable,
} from "./forward"
import { isJsonRequest, redactUrl } from "./http-utils"
import type { KratosCaller } from "../kratos/caller"
import {
  addFieldMessages,
  addFlowMessage,
  type KratosFlow,
  refillValues,
  resetMessages,
} from "../kratos/flows"
import type { FlowKind, KratosPublic } from "../kratos/public"
import {
  LOGIN_THROTTLED,
  PASSWORD_POLICY_PARAM,
  PASSWORD_POLICY_REUSED,
  PASSWORD_REUSED,
  REUSED_TEXT,
  THROTTLED_PARAM,
  throttledText,
} from "./refusals"
import { kratosRoute } from "./routes"

/** Largest self-service submission read (a WebAuthn attestation is a few kB). */
export const MAX_SUBMISSION_BYTES = 64 * 1024

/**
 * The service's proxy of Kratos public, for one clean path (see `cleanPath`). It never hands
 * Kratos the client's bytes: it parses them once, decides on the parsed values, and sends a
 * request built from those values (proxy/forward.ts `forwardToKratos`), so there is nothing left
 * for Kratos to read differently.
 *
 * - Only allow-listed routes are served (proxy/routes.ts); others answer 404.
 * - Query strings are parsed strictly and re-encoded with only the parameters Kratos reads
 *   there; submissions carry `flow` alone.
 * - The session is settled into one header (`sessionCredential`), and limits keyed on the
 *   caller's identity resolve the session from that same header.
 * - Self-service submissions (POST) need exactly one Content-Type of the two Kratos decodes and
 *   no content coding; the body is decided by `decideSubmission` (policy/submission.ts): one
 *   strategy, its fields only, the password rules, the organisation's `sso_required`, the
 *   identifier normalised as Kratos matches it. Settings intents (WebAuthn/passkey removal,
 *   TOTP unlink, recovery codes disabled) are recorded before forwarding, and the submission is
 *   refused with 503 if they can't be (fail closed). Guessable login secrets (password, TOTP,
 *   recovery code) count against the brute-force limits.
 *
 * A rule's refusal answers as Kratos would answer a validation error: JSON clients (Kratos's
 * `IsJSONRequest`, or any API flow) get **400** with the flow as Kratos serves it, every message
 * reset and ours added (under the `password` input; flow-level for throttling). Browser form
 * posts get **303** to the flow's UI page with an extra query parameter, because the proxy can't
 * store messages in Kratos's copy of the flow: `…?flow=<id>&password_policy=failed` (the UI
 * shows the rules), `password_policy=sso_required`, `password_policy=reused`, and
 * `/login?flow=<id>&throttled=<seconds>` with a `Retry-After` header. A request that is
 * malformed or has more than one reading gets a plain 400 (415 for the media type) in Kratos's
 * error shape.
 */
export function createKratosProxy(
  deps: Deps,
): (req: Request, res: Response, next: NextFunction, path: string) => void {
  const { config, database, log } = deps
  const kratos = deps.kratosPublic
  const throttle = new LoginThrottle(database, {
    maxFailures: config.LOGIN_MAX_FAILURES_PER_IDENTIFIER,
    failureWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
    blockBaseSeconds: config.LOGIN_BLOCK_BASE_SECONDS,
    blockMaxSeconds: config.LOGIN_BLOCK_MAX_SECONDS,
    maxFailuresPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
    ipWindowSeconds: config.LOGIN_IP_WINDOW_SECONDS,
  })
  const origins: InternalOrigins = {
    kratosPublic: config.KRATOS_PUBLIC_URL,
    kratosAdmin: config.KRATOS_ADMIN_URL,
    publicUrl: config.PUBLIC_URL,
  }
  const readBody: RequestHandler = express.raw({
    type: () => true,
    limit: MAX_SUBMISSION_BYTES,
    inflate: false,
  })
  const history = { database, kratos: deps.kratos, log, size: config.PASSWORD_HISTORY }
  const ctx: GuardContext = { deps, kratos, throttle, history, publicUrl: config.PUBLIC_URL }

  const send = async (
    req: Request,
    res: Response,
    out: KratosRequest,
    onAnswer?: (upstream: IncomingMessage | null) => Promise<void>,
  ) => {
    let upstream: IncomingMessage
    try {
      upstream = await kratos.forward(publicRequest(req, out))
    } catch (err) {
      ;(req.log ?? log).warn(
        { err: { message: (err as Error).message }, url: redactUrl(req.originalUrl) },
        "Kratos public unreachable",
      )
      await onAnswer?.(null)
      sendUnreachable(res)
      return
    }
    await onAnswer?.(upstream)
    relayResponse(upstream, res, origins)
  }

  return (req, res, next, path) => {
    const reject = (a: Ambiguity) => {
      ;(req.log ?? log).info({ status: a.status, reason: a.reason }, "Kratos request refused")
      // The body was not read: end the connection with the answer rather than parse what is
      // left of it as the next request.
      if (hasBody(req)) res.setHeader("connection", "close")
      next(new AppError(CODE[a.status], a.reason))
    }
    const route = kratosRoute(req.method, path)
    if (!route) {
      return reject({ ok: false, status: 404, reason: "this address is not served here" })
    }
    const credential = sessionCredential(req)
    if (!credential.ok) return reject(credential)
    const query = parsePairs(rawQuery(req.originalUrl), "query string")
    if (!query.ok) return reject(query)
    const base = { method: req.method, path, token: credential.token, cookies: credential.cookies }

    if (route.kind === "pass") {
      // Kratos reads no body on these routes; one sent anyway is refused, not dropped.
      if (hasBody(req)) {
        return reject({
          ok: false,
          status: 400,
          reason: `a ${req.method} request here has no body`,
        })
      }
      const kept = [...query.values].filter(
        ([k]) => route.query === null || route.query.includes(k),
      )
      send(req, res, { ...base, query: encodePairs(kept) }).catch(next)
      return
    }

    const coding = codingProblem(req)
    if (coding) return reject(coding)
    const format = bodyFormat(req)
    if (typeof format !== "string") return reject(format)
    if (route.kind === "logout-api" && format !== "json") {
      return reject({ ok: false, status: 415, reason: "expected an application/json body" })
    }

    readBody(req, res, (err?: unknown) => {
      if (err) return next(err)
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const parsed = parseBody(format, bytes)
      if (!parsed.ok) return reject(parsed)

      if (route.kind === "logout-api") {
        const token = parsed.fields.session_token
        if (typeof token !== "string") {
          return reject({ ok: false, status: 400, reason: '"session_token" must be a string' })
        }
        const body = { format, bytes: encodeBody(format, { session_token: token }) }
        send(req, res, { ...base, query: "", body }).catch(next)
        return
      }

      const flowParam = query.values.get("flow")
      const flowId = canonicalFlowId(flowParam?.toLowerCase())
      if (!flowId) {
        return reject({
          ok: false,
          status: 400,
          reason: "The flow query parameter is missing or malformed.",
        })
      }
      const g: Guarded = {
        flow: route.flow,
        flowId,
        caller: { token: credential.token, cookies: credential.cookies },
        out: { ...base, query: encodePairs([["flow", flowId]]) },
      }
      guardSubmission(ctx, req, res, g, parsed.fields, format, send).catch(next)
    })
  }
}

function hasBody(req: Request): boolean {
  return (
    req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0
  )
}

const CODE = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  415: "UNSUPPORTED_MEDIA_TYPE",
} as const satisfies Record<Ambiguity["status"], string>

type Send = (
  req: Request,
  res: Response,
  out: KratosRequest,
  onAnswer?: (upstream: IncomingMessage | null) => Promise<void>,
) => Promise<void>

interface GuardContext {
  deps: Deps
  kratos: KratosPublic
  throttle: LoginThrottle
  history: PasswordHistoryDeps
  publicUrl: string
}

interface Guarded {
  flow: FlowKind
  flowId: string
  caller: KratosCaller
  /** Everything of the request to Kratos but its body. */
  out: KratosRequest
}

/** Parse → decide → (limit, record) → forward or refuse. */
async function guardSubmission(
  ctx: GuardContext,
  req: Request,
  res: Response,
  g: Guarded,
  fields: Record<string, unknown>,
  format: "json" | "form",
  send: Send,
): Promise<void> {
  const { database } = ctx.deps
  const log = req.log ?? ctx.deps.log

  let ssoRequired = false
  if (g.flow === "settings" && fields.method === "password") {
    const policy = await getOrgPolicyCached(database.db).catch((err: unknown) => {
      log.error({ err }, "org policy unavailable; refusing the password change")
      throw new AppError("UNAVAILABLE", "The password can't be changed right now.")
    })
    ssoRequired = policy.ssoRequired
  }

  const decision = decideSubmission(fields, { flow: g.flow, format, ssoRequired })
  if (decision.action === "reject") {
    log.info({ flow: g.flowId, kind: g.flow, reason: decision.reason }, "submission refused")
    throw new AppError("BAD_REQUEST", decision.reason)
  }
  if (decision.action === "refuse") {
    log.info({ flow: g.flowId, kind: g.flow }, decision.log)
    return refuse(ctx, req, res, g, fields, decision.refusal)
  }

  if (
    decision.newPassword !== null &&
    (await isPasswordReuse(ctx, g.caller, decision.newPassword, log))
  ) {
    log.info({ flow: g.flowId, kind: g.flow }, "password submission refused: reused")
    return refuse(ctx, req, res, g, fields, {
      field: [errorText(PASSWORD_REUSED, REUSED_TEXT)],
      param: [PASSWORD_POLICY_PARAM, PASSWORD_POLICY_REUSED],
    })
  }

  for (const intent of decision.intents) {
    try {
      await recordIntent(database.db, { flowId: g.flowId, ...intent })
    } catch (err) {
      log.error({ err }, "could not record a settings intent; refusing the submission")
      throw new AppError(
        "UNAVAILABLE",
        "This security change can't be recorded right now, so it was not sent. Please try again in a moment.",
      )
    }
  }

  const out: KratosRequest = {
    ...g.out,
    body: { format, bytes: encodeBody(format, decision.fields) },
  }
  if (!decision.throttle) return send(req, res, out)

  const subject = await loginSubject(ctx, g.caller, decision.throttle)
  const start = await ctx.throttle.begin(req.ip, subject).catch((err: unknown) => {
    log.error({ err }, "brute-force store unavailable; refusing the login")
    throw new AppError("UNAVAILABLE", "Sign-in is unavailable right now. Please try again shortly.")
  })
  if (!start.allowed) {
    log.warn(
      { flow: g.flowId, scope: start.scope, retryAfter: start.retryAfterSeconds },
      "login attempt refused: too many failed attempts",
    )
    res.setHeader("retry-after", String(start.retryAfterSeconds))
    return refuse(ctx, req, res, g, fields, {
      flow: errorText(LOGIN_THROTTLED, throttledText(start.retryAfterSeconds), {
        retry_after_seconds: start.retryAfterSeconds,
      }),
      param: [THROTTLED_PARAM, String(start.retryAfterSeconds)],
    })
  }
  await send(req, res, out, async (upstream) => {
    const outcome = upstream ? loginOutcome(upstream, ctx.publicUrl) : "neutral"
    await start.attempt.settle(outcome).catch((err: unknown) => {
      log.error({ err, outcome }, "could not settle a login attempt")
    })
  })
}

/**
 * Whether the new password is the caller's current or a recent one (domain/password-history.ts).
 * The identity is the session forwarded with the submission; without one Kratos refuses the
 * submission itself. Fails closed when Kratos or the database can't answer.
 */
async function isPasswordReuse(
  ctx: GuardContext,
  caller: KratosCaller,
  candidate: string,
  log: Logger,
): Promise<boolean> {
  try {
    const session = await ctx.kratos.whoami(caller)
    const identityId = session?.identity?.id
    if (!identityId) return false
    const verdict = await checkPasswordReuse({ ...ctx.history, log }, identityId, candidate)
    return verdict.reused
  } catch (err) {
    // The message only: an axios error carries the session headers it sent.
    log.error({ err: { message: (err as Error).message } }, "password reuse check unavailable")
    throw new AppError("UNAVAILABLE", "The password can't be changed right now.")
  }
}

/**
 * The account a guess counts against: the identifier Kratos will match, or for second-factor
 * codes the identity of the session forwarded with the attempt (resolved from that same
 * credential). Without either, only the IP limit applies.
 */
async function loginSubject(
  ctx: GuardContext,
  caller: KratosCaller,
  subject: ThrottleSubject,
): Promise<LoginSubject | null> {
  if (subject.kind === "identifier") return { kind: "identifier", value: subject.value }
  if (subject.kind === "none") return null
  const session = await ctx.kratos.whoami(caller).catch(() => null)
  const identityId = session?.identity?.id
  return identityId ? { kind: "identity", value: identityId } : null
}

/**
 * A failure is Kratos re-rendering the login form: 400 to a JSON client, or a redirect back to
 * the login UI (`/login?flow=`) for a browser. A 200 or any other redirect signs the person in
 * (or moves them on); an error page, other 4xx and 5xx are neither.
 */
export function loginOutcome(upstream: IncomingMessage, publicUrl: string): AttemptOutcome {
  const status = upstream.statusCode ?? 0
  if (status === 400) return "failure"
  if (status === 200) return "success"
  if (status >= 300 && status < 400) {
    const location = upstream.headers.location
    if (!location) return "neutral"
    let url: URL
    try {
      url = new URL(location, publicUrl)
    } catch {
      return "neutral"
    }
    if (url.pathname === "/login" && url.searchParams.has("flow")) return "failure"
    if (url.pathname === "/error") return "neutral"
    return "success"
  }
  return "neutral"
}

const FILLED_BACK: Record<FlowKind, (name: string) => boolean> = {
  settings: () => false,
  registration: (name) => name.startsWith("traits."),
  login: (name) => name === "identifier",
  recovery: (name) => name === "email",
  verification: (name) => name === "email",
}

/**
 * Answers in the shape the flow client expects (see `createKratosProxy`). The flow is read from
 * Kratos as the caller; when that fails (expired 410, unknown 404, foreign 403), a JSON client
 * gets Kratos's own status and body.
 */
async function refuse(
  ctx: GuardContext,
  req: Request,
  res: Response,
  g: Guarded,
  fields: Record<string, unknown>,
  refusal: Refusal,
): Promise<void> {
  res.setHeader("cache-control", "private, no-cache, no-store, must-revalidate")
  const fetched = await ctx.kratos.getFlow(g.flow, g.flowId, g.caller)
  const json = isJsonRequest(req.headers) || (fetched.ok && fetched.flow.type === "api")

  if (!json) {
    const ui = new URL(`${ctx.publicUrl}/${g.flow}`)
    ui.searchParams.set("flow", g.flowId)
    ui.searchParams.set(refusal.param[0], refusal.param[1])
    res.redirect(303, ui.toString())
    return
  }
  if (!fetched.ok) {
    res.status(fetched.status).type(fetched.contentType).send(fetched.body)
    return
  }
  const flow: KratosFlow = fetched.flow
  resetMessages(flow)
  refillValues(flow, flatten(fields), FILLED_BACK[g.flow])
  if (refusal.field) addFieldMessages(flow, "password", refusal.field)
  if (refusal.flow) addFlowMessage(flow, refusal.flow)
  for (const c of fetched.setCookie) res.append("set-cookie", c)
  res.status(400).json(flow)
}

/** Every field as dotted name → value (nested JSON objects flattened, `traits.email`). */
function flatten(fields: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const walk = (prefix: string, value: unknown) => {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v)
    } else {
      out.set(prefix, value)
    }
  }
  walk("", fields)
  return out
}

import http from "node:http"
import express, { type Request, type RequestHandler, type Response } from "express"
import type { Deps } from "../app"
import { type AttemptOutcome, type LoginSubject, LoginThrottle } from "../domain/brute-force"
import { getOrgPolicyCached } from "../domain/org-policy"
import { type IntentKind, recordIntent } from "../domain/settings-intents"
import { AppError } from "../errors"
import type { SessionResolver } from "../kratos/sessions"
import { checkPassword } from "../policy/password-rules"
import { forwardBuffered, relayResponse, sendUnreachable } from "./forward"
import {
  canonicalPath,
  goQueryGet,
  isJsonRequest,
  mediaType,
  parseFlowId,
  rawQuery,
} from "./http-utils"
import {
  addFieldMessages,
  addFlowMessage,
  createKratosPublic,
  errorText,
  type FlowKind,
  type KratosFlow,
  type KratosPublic,
  refillValues,
  resetMessages,
  type UiText,
} from "./kratos-flows"
import {
  LOGIN_THROTTLED,
  PASSWORD_POLICY_FAILED,
  PASSWORD_POLICY_PARAM,
  PASSWORD_POLICY_SSO_REQUIRED,
  SSO_PASSWORD_REFUSED,
  SSO_PASSWORD_TEXT,
  THROTTLED_METHODS,
  THROTTLED_PARAM,
  throttledText,
} from "./refusals"
import { parseSubmission, type Submission } from "./submission"

/** Largest self-service submission read (a WebAuthn attestation is a few kB). */
export const MAX_SUBMISSION_BYTES = 64 * 1024

const GUARDED: Record<string, FlowKind> = {
  "/self-service/settings": "settings",
  "/self-service/registration": "registration",
  "/self-service/login": "login",
}

/** Settings fields that ask for something a webhook can't see (see settings-intents.ts). */
const INTENT_FIELDS: { field: string; kind: IntentKind; carriesId: boolean }[] = [
  { field: "webauthn_remove", kind: "webauthn_remove", carriesId: true },
  { field: "passkey_remove", kind: "passkey_remove", carriesId: true },
  { field: "totp_unlink", kind: "totp_unlink", carriesId: false },
  { field: "lookup_secret_disable", kind: "lookup_secret_disable", carriesId: false },
]

interface Guarded {
  kind: FlowKind
  path: string
  query: string
  /** The flow id Kratos will act on (first `flow` query value, as gofrs parses it). */
  flowId: string | null
  submission: Submission
  body: Buffer
}

/**
 * Inspects the three self-service submissions that need more than Kratos enforces — settings,
 * registration and login POSTs (and settings GETs, which Kratos also decodes as a submission) —
 * before they reach Kratos, and forwards them byte for byte when they pass. Everything else
 * falls through to the streaming proxy.
 *
 * - settings / registration with `method=password`: the password composition rules
 *   (policy/password-rules.ts), and for settings the organisation's `sso_required`;
 * - settings: records intents (WebAuthn/passkey removal, TOTP unlink, recovery codes disabled)
 *   before forwarding, and refuses with 503 if it can't (fail closed);
 * - login with `method` password, totp or lookup_secret: brute-force limits.
 *
 * A refusal answers as Kratos would answer a validation error: JSON clients (Kratos's
 * `IsJSONRequest`, or any API flow) get **400** with the flow as Kratos serves it, every
 * message reset and ours added (under the `password` input; flow-level for throttling).
 * Browser form posts get **303** to the flow's UI page with an extra query parameter, because
 * the proxy can't store messages in Kratos's copy of the flow:
 * `/settings?flow=<id>&password_policy=failed` or `/registration?flow=<id>&password_policy=failed`
 * (the UI shows the rules), `…&password_policy=sso_required` for an SSO-only organisation, and
 * `/login?flow=<id>&throttled=<seconds>` when login is blocked. Blocked logins also carry a
 * `Retry-After` header. Parameter names and texts are in refusals.ts, shared with the UI pages
 * that read them (ui/src/refusal.ts).
 */
export function createSubmissionGuard(deps: Deps): RequestHandler {
  const { config, database, log } = deps
  const target = new URL(config.KRATOS_PUBLIC_URL)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  const kratos = createKratosPublic(config.KRATOS_PUBLIC_URL)
  const throttle = new LoginThrottle(database, {
    maxFailures: config.LOGIN_MAX_FAILURES_PER_IDENTIFIER,
    failureWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
    blockBaseSeconds: config.LOGIN_BLOCK_BASE_SECONDS,
    blockMaxSeconds: config.LOGIN_BLOCK_MAX_SECONDS,
    maxFailuresPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
    ipWindowSeconds: config.LOGIN_IP_WINDOW_SECONDS,
  })
  const readBody = express.raw({
    type: () => true,
    limit: MAX_SUBMISSION_BYTES,
    inflate: false,
  })
  const ctx: GuardContext = { deps, kratos, throttle, publicUrl: config.PUBLIC_URL }

  const forward = async (req: Request, res: Response, g: Guarded, onAnswer?: AnswerHook) => {
    let upstream: http.IncomingMessage
    try {
      upstream = await forwardBuffered(target, agent, req, g.path, g.query, g.body)
    } catch (err) {
      ;(req.log ?? log).warn(
        { err: { message: (err as Error).message }, url: g.path },
        "Kratos public unreachable",
      )
      await onAnswer?.(null)
      sendUnreachable(res)
      return
    }
    await onAnswer?.(upstream)
    relayResponse(upstream, res)
  }

  return (req, res, next) => {
    if (req.method !== "POST" && req.method !== "GET") return next()
    const path = canonicalPath(req.originalUrl)
    const kind = path ? GUARDED[path] : undefined
    if (!path || !kind) return next()

    if (req.method === "GET") {
      // Kratos routes GET /self-service/settings to the same handler as the POST (to resume a
      // change paused for re-authentication), and its settings strategies then decode the
      // query string as the form: `?flow=…&method=password&password=…` changes a password.
      // So a settings GET gets the same checks; it streams on untouched when it passes.
      // Login and registration decoders refuse GET.
      if (kind !== "settings") return next()
      const query = rawQuery(req.originalUrl)
      const parsed = parseSubmission("form", Buffer.from(query, "utf8"))
      // A query Go can't parse fails Kratos's decoding too (ParseForm errors first).
      if (!parsed.ok) return next()
      const g: Guarded = {
        kind,
        path,
        query,
        flowId: parseFlowId(goQueryGet(req.originalUrl, "flow")),
        submission: parsed.submission,
        body: Buffer.alloc(0),
      }
      guardPasswordAndIntents(ctx, req, res, g, async () => next()).catch(next)
      return
    }

    readBody(req, res, (err?: unknown) => {
      if (err) return next(err)
      const format = formatOf(req)
      if (!format) {
        return next(
          new AppError(
            "UNSUPPORTED_MEDIA_TYPE",
            "expected an application/json or application/x-www-form-urlencoded body",
          ),
        )
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const parsed = parseSubmission(format, body)
      if (!parsed.ok) return next(new AppError("BAD_REQUEST", parsed.reason))
      const g: Guarded = {
        kind,
        path,
        query: rawQuery(req.originalUrl),
        flowId: parseFlowId(goQueryGet(req.originalUrl, "flow")),
        submission: parsed.submission,
        body,
      }
      const handle = kind === "login" ? guardLogin : guardPasswordAndIntents
      handle(ctx, req, res, g, forward).catch(next)
    })
  }
}

type AnswerHook = (upstream: http.IncomingMessage | null) => Promise<void>
type Forward = (req: Request, res: Response, g: Guarded, onAnswer?: AnswerHook) => Promise<void>

interface GuardContext {
  deps: Deps
  kratos: KratosPublic
  throttle: LoginThrottle
  publicUrl: string
}

function formatOf(req: Request): "json" | "form" | null {
  const t = mediaType(req.headers["content-type"])
  if (t === "application/json") return "json"
  if (t === "application/x-www-form-urlencoded") return "form"
  return null
}

async function guardPasswordAndIntents(
  ctx: GuardContext,
  req: Request,
  res: Response,
  g: Guarded,
  forward: Forward,
): Promise<void> {
  const { database } = ctx.deps
  const log = req.log ?? ctx.deps.log
  const s = g.submission

  if (s.all("method").includes("password")) {
    if (g.kind === "settings") {
      const policy = await getOrgPolicyCached(database.db).catch((err: unknown) => {
        log.error({ err }, "org policy unavailable; refusing the password change")
        throw new AppError("UNAVAILABLE", "The password can't be changed right now.")
      })
      if (policy.ssoRequired) {
        log.info({ flow: g.flowId, kind: g.kind }, "password submission refused: sso_required")
        return refuse(ctx, req, res, g, {
          field: [errorText(SSO_PASSWORD_REFUSED, SSO_PASSWORD_TEXT)],
          param: [PASSWORD_POLICY_PARAM, PASSWORD_POLICY_SSO_REQUIRED],
        })
      }
    }
    // Every value of the field is checked (Kratos picks one), a non-string one as if empty.
    // Without a password field Kratos answers "required" itself.
    const failing = new Map<number, UiText>()
    for (const value of s.all("password")) {
      for (const rule of checkPassword(typeof value === "string" ? value : "")) {
        failing.set(rule.id, errorText(rule.id, rule.text))
      }
    }
    if (failing.size > 0) {
      log.info(
        { flow: g.flowId, kind: g.kind, failed: failing.size },
        "password submission refused by the password policy",
      )
      return refuse(ctx, req, res, g, {
        field: [...failing.values()].sort((a, b) => a.id - b.id),
        param: [PASSWORD_POLICY_PARAM, PASSWORD_POLICY_FAILED],
      })
    }
  }

  if (g.kind === "settings" && g.flowId) {
    const intents = intentsOf(s)
    if (intents.length > 0) {
      try {
        for (const i of intents) await recordIntent(database.db, { flowId: g.flowId, ...i })
      } catch (err) {
        log.error({ err }, "could not record a settings intent; refusing the submission")
        throw new AppError(
          "UNAVAILABLE",
          "This security change can't be recorded right now, so it was not sent. Please try again in a moment.",
        )
      }
    }
  }

  await forward(req, res, g)
}

function intentsOf(s: Submission): { kind: IntentKind; detail: string | null }[] {
  const out: { kind: IntentKind; detail: string | null }[] = []
  for (const { field, kind, carriesId } of INTENT_FIELDS) {
    if (carriesId) {
      const ids = new Set(
        s
          .all(field)
          .map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
          .filter((v) => v !== ""),
      )
      for (const id of ids) out.push({ kind, detail: id.slice(0, 1024) })
    } else if (s.isTrue(field)) {
      out.push({ kind, detail: null })
    }
  }
  return out
}

async function guardLogin(
  ctx: GuardContext,
  req: Request,
  res: Response,
  g: Guarded,
  forward: Forward,
): Promise<void> {
  const methods = g.submission.all("method").filter((m): m is string => typeof m === "string")
  const method = methods.find((m) => THROTTLED_METHODS.includes(m))
  if (!method) return forward(req, res, g)

  const subject = await loginSubject(ctx.deps.sessions, req, g.submission, method)
  const start = await ctx.throttle.begin(req.ip, subject).catch((err: unknown) => {
    ;(req.log ?? ctx.deps.log).error({ err }, "brute-force store unavailable; refusing the login")
    throw new AppError("UNAVAILABLE", "Sign-in is unavailable right now. Please try again shortly.")
  })
  if (!start.allowed) {
    ;(req.log ?? ctx.deps.log).warn(
      { flow: g.flowId, scope: start.scope, retryAfter: start.retryAfterSeconds },
      "login attempt refused: too many failed attempts",
    )
    return refuse(ctx, req, res, g, {
      flow: errorText(LOGIN_THROTTLED, throttledText(start.retryAfterSeconds), {
        retry_after_seconds: start.retryAfterSeconds,
      }),
      param: [THROTTLED_PARAM, String(start.retryAfterSeconds)],
      retryAfterSeconds: start.retryAfterSeconds,
    })
  }

  await forward(req, res, g, async (upstream) => {
    const outcome = upstream ? loginOutcome(upstream, ctx.publicUrl) : "neutral"
    await start.attempt.settle(outcome).catch((err: unknown) => {
      ;(req.log ?? ctx.deps.log).error({ err, outcome }, "could not settle a login attempt")
    })
  })
}

/**
 * Password logins are counted per identifier (as Kratos looks it up: `identifier`, else the
 * legacy `password_identifier`); second-factor submissions per identity, taken from the
 * caller's session. Without either, only the IP limit applies.
 */
async function loginSubject(
  sessions: SessionResolver,
  req: Request,
  s: Submission,
  method: string,
): Promise<LoginSubject | null> {
  if (method === "password") {
    const identifier = s.string("identifier") || s.string("password_identifier")
    return identifier ? { kind: "identifier", value: identifier } : null
  }
  const session = await sessions.fromRequest(req).catch(() => null)
  const identityId = session?.identity?.id
  return identityId ? { kind: "identity", value: identityId } : null
}

/**
 * A failure is Kratos re-rendering the login form: 400 to a JSON client, or a redirect back to
 * the login UI (`/login?flow=`) for a browser. A 200 or any other redirect signs the person in
 * (or moves them on); an error page, other 4xx and 5xx are neither.
 */
export function loginOutcome(upstream: http.IncomingMessage, publicUrl: string): AttemptOutcome {
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

interface Refusal {
  /** Messages under the password input. */
  field?: UiText[]
  /** A flow-level message. */
  flow?: UiText
  /** Query parameter added to the UI URL for browser form posts. */
  param: [string, string]
  retryAfterSeconds?: number
}

const FILLED_BACK: Record<FlowKind, (name: string) => boolean> = {
  settings: () => false,
  registration: (name) => name.startsWith("traits."),
  login: (name) => name === "identifier",
}

/**
 * Answers in the shape the flow client expects (see `createSubmissionGuard`). The flow is read
 * from Kratos as the caller; when that fails (expired 410, unknown 404, foreign 403), a JSON
 * client gets Kratos's own status and body.
 */
async function refuse(
  ctx: GuardContext,
  req: Request,
  res: Response,
  g: Guarded,
  refusal: Refusal,
): Promise<void> {
  if (refusal.retryAfterSeconds) res.setHeader("retry-after", String(refusal.retryAfterSeconds))
  res.setHeader("cache-control", "private, no-cache, no-store, must-revalidate")

  const fetched = g.flowId ? await ctx.kratos.getFlow(g.kind, g.flowId, req.headers) : null
  const json = isJsonRequest(req.headers) || (fetched?.ok === true && fetched.flow.type === "api")

  if (!json) {
    const ui = new URL(`${ctx.publicUrl}/${g.kind}`)
    if (g.flowId) ui.searchParams.set("flow", g.flowId)
    ui.searchParams.set(refusal.param[0], refusal.param[1])
    res.redirect(303, ui.toString())
    return
  }
  if (!fetched || !fetched.ok) {
    if (!fetched) {
      res.status(400).json({
        error: {
          code: 400,
          status: "Bad Request",
          message: "The flow query parameter is missing or malformed.",
        },
      })
      return
    }
    res.status(fetched.status).type(fetched.contentType).send(fetched.body)
    return
  }
  const flow: KratosFlow = fetched.flow
  resetMessages(flow)
  refillValues(flow, g.submission.flat(), FILLED_BACK[g.kind])
  if (refusal.field) addFieldMessages(flow, "password", refusal.field)
  if (refusal.flow) addFlowMessage(flow, refusal.flow)
  for (const c of fetched.setCookie) res.append("set-cookie", c)
  res.status(400).json(flow)
}

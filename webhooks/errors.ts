import type { ErrorRequestHandler, Request, Response } from "express"
import type { Logger } from "pino"

export const errorCodes = [
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "MISDIRECTED_REQUEST",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "TOO_MANY_REQUESTS",
  "UNAVAILABLE",
  "INTERNAL",
] as const
export type ErrorCode = (typeof errorCodes)[number]

const codeToStatus: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  MISDIRECTED_REQUEST: 421,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    // A refusal of the client's request (4xx) is an answer, not a fault: it is never logged
    // with a stack, so none is captured (the gate and the API refuse at request rates).
    const limit = Error.stackTraceLimit
    if (codeToStatus[code] < 500) Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
    this.code = code
    this.details = details
    this.name = "AppError"
  }
  get status(): number {
    return codeToStatus[this.code]
  }
}

/** Kratos's webhook interrupt shape (web_hook.go parseWebhookResponse). */
export interface KratosMessages {
  messages: {
    instance_ptr: string
    messages: {
      id: number
      text: string
      type: "error" | "info"
      context?: Record<string, unknown>
    }[]
  }[]
}

export function kratosMessages(text: string, id = 4000001, instancePtr = "#/"): KratosMessages {
  return { messages: [{ instance_ptr: instancePtr, messages: [{ id, text, type: "error" }] }] }
}

/** Node socket errors that mean the other side can't be reached right now. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_NETWORK",
])

/** postgres.js's own connection error codes. */
const POSTGRES_CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
])

/**
 * Which dependency an error says is unreachable: Kratos (an axios call without an answer, or a
 * 5xx from Kratos) or the database (a dropped or refused connection, Postgres shutting down or
 * starting up, SQLSTATE classes 08 and 57P). Follows `cause` (drizzle wraps driver errors).
 */
export function unavailableDependency(err: unknown): "kratos" | "database" | undefined {
  let e = err as Record<string, unknown> | undefined
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (e.isAxiosError === true) {
      const status = (e.response as { status?: number } | undefined)?.status
      if (status === undefined) return "kratos"
      return status >= 500 && status !== 501 ? "kratos" : undefined
    }
    const code = typeof e.code === "string" ? e.code : ""
    if (POSTGRES_CONNECTION_CODES.has(code)) return "database"
    if (/^(08|57P)/.test(code) || code === "53300") return "database"
    if (NETWORK_CODES.has(code)) return "database"
    e = e.cause as Record<string, unknown> | undefined
  }
  return undefined
}

const UNAVAILABLE_TEXT = "This is unavailable right now. Please try again in a moment."

const FRAMEWORK_4XX: Record<number, [ErrorCode, string]> = {
  403: ["FORBIDDEN", "forbidden"],
  404: ["NOT_FOUND", "not found"],
  413: ["PAYLOAD_TOO_LARGE", "request body too large"],
  415: ["UNSUPPORTED_MEDIA_TYPE", "unsupported media type"],
}

/** Maps body-parser and other framework errors onto our codes. */
function normalise(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err
  const dependency = unavailableDependency(err)
  if (dependency) {
    return new AppError("UNAVAILABLE", UNAVAILABLE_TEXT, { reason: `${dependency}_unavailable` })
  }
  const e = err as { type?: string; status?: number; expose?: boolean }
  // The router's decoding of a path parameter such as `%zz` (a URIError with status 400).
  if (err instanceof URIError) return new AppError("BAD_REQUEST", "malformed percent-encoding")
  if (e?.type === "entity.too.large")
    return new AppError("PAYLOAD_TOO_LARGE", "request body too large")
  if (e?.type === "entity.parse.failed")
    return new AppError("BAD_REQUEST", "request body is not valid JSON")
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    return new AppError("UNSUPPORTED_MEDIA_TYPE", "unsupported body encoding")
  }
  // Any other framework 4xx keeps its meaning but not its message: serve-static's and send's
  // (a missing /assets file, a bad Range) are not `expose`d because they name file paths.
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    const [code, message] = FRAMEWORK_4XX[e.status] ?? ["BAD_REQUEST", "bad request"]
    return new AppError(code, message)
  }
  return undefined
}

/**
 * The one error middleware. Our errors answer with their code; unknown errors are logged in
 * full and answer a generic 500 with the request id. Requests from Kratos (`/hooks/*`) get
 * Kratos's message shape and never a 5xx: Kratos retries 5xx and then shows a generic error,
 * whereas a 4xx with messages is shown in the flow and fails the change closed.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(req.id ?? "")
    const known = normalise(err)
    if (!known) (req.log ?? log).error({ err }, "unhandled error")
    else if (known.code === "UNAVAILABLE" && !(err instanceof AppError)) {
      // A dependency is down: one line with its reason, not the whole client error.
      const e = err as { message?: string; code?: string }
      ;(req.log ?? log).warn(
        { reason: known.details?.reason, error: { message: e?.message, code: e?.code } },
        "request failed: a dependency is unavailable",
      )
    }
    const appErr = known ?? new AppError("INTERNAL", "internal error")
    if (res.headersSent) return
    if (isHookRequest(req)) return sendHookError(res, appErr)
    res.status(appErr.status).json({
      error: {
        code: appErr.code,
        message: appErr.message,
        ...appErr.details,
        request_id: requestId,
      },
    })
  }
}

function isHookRequest(req: Request): boolean {
  // Only Kratos's calls get Kratos's message shape; /internal is for the operator's CLI.
  return req.originalUrl.startsWith("/hooks/")
}

function sendHookError(res: Response, err: AppError): void {
  const status = err.status >= 500 || err.status === 429 ? 424 : err.status
  const text =
    err.status >= 500
      ? "This security change can't be recorded right now, so it was not saved. Please try again in a moment."
      : err.message
  res.status(status).json(kratosMessages(text))
}

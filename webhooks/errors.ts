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
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
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

/** Maps body-parser and other framework errors onto our codes. */
function normalise(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err
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
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500 && e.expose) {
    return new AppError("BAD_REQUEST", "bad request")
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
    const appErr = known ?? new AppError("INTERNAL", "internal error")
    if (res.headersSent) return
    if (isHookRequest(req)) return sendHookError(res, appErr)
    res
      .status(appErr.status)
      .json({ error: { code: appErr.code, message: appErr.message, ...appErr.details, requestId } })
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

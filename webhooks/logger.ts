import pino, { type Logger } from "pino"

/**
 * Paths never written to logs: session cookies and tokens, the webhook API key, and any
 * field that can carry a password, TOTP secret/code or recovery code.
 */
export const REDACT_PATHS = [
  "req.headers.cookie",
  "req.headers.authorization",
  'req.headers["x-session-token"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  "*.password",
  "*.csrf_token",
  "*.totp_code",
  "*.totp_secret_key",
  "*.lookup_secret",
  "*.lookup_secret_codes",
  "*.recovery_codes",
  "*.session_token",
  "*.apiKey",
]

export function createLogger(opts: { level: string; pretty?: boolean }): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY
  return pino({
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: "kratos-guard" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { singleLine: true } } } : {}),
  })
}

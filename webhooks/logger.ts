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

/**
 * Pretty output is a development convenience: pino-pretty is a dev dependency, absent from the
 * production image, so a TTY (`docker run -t`) must not select it there. An explicit
 * LOG_PRETTY=true still falls back to JSON lines when pino-pretty can't be loaded.
 */
export function wantsPrettyLogs(opts: {
  pretty?: boolean
  isTTY: boolean
  nodeEnv?: string
  prettyInstalled: () => boolean
}): boolean {
  const wanted = opts.pretty ?? (opts.isTTY && opts.nodeEnv !== "production")
  return wanted && opts.prettyInstalled()
}

function prettyInstalled(): boolean {
  try {
    require.resolve("pino-pretty")
    return true
  } catch {
    return false
  }
}

export function createLogger(opts: { level: string; pretty?: boolean; nodeEnv?: string }): Logger {
  const pretty = wantsPrettyLogs({
    pretty: opts.pretty,
    isTTY: process.stdout.isTTY === true,
    nodeEnv: opts.nodeEnv,
    prettyInstalled,
  })
  return pino({
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: "kratos-guard" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { singleLine: true } } } : {}),
  })
}

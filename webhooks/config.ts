import { z } from "zod"
import { parseNetworks } from "./outbound/addresses"

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")

const url = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ""))

/**
 * Every setting of the service, parsed once from the environment at boot.
 * `.env.example` and the README's configuration table list the same variables.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    HOST: z.string().default("127.0.0.1"),
    PORT: z.coerce.number().int().min(0).max(65535).default(4455),
    /** The one origin browsers use: UI, /api and the Kratos public proxy. */
    PUBLIC_URL: url.default("http://localhost:4455"),
    /** Kratos public API, reachable from the service only. */
    KRATOS_PUBLIC_URL: url.default("http://127.0.0.1:4433"),
    /** Kratos admin API, reachable from the service only. */
    KRATOS_ADMIN_URL: url.default("http://127.0.0.1:4434"),
    /** Shared with kratos.yml's web_hook auth; sent by Kratos as `Authorization: Bearer <key>`. */
    KRATOS_WEBHOOK_API_KEY: z.string().min(32, "must be at least 32 characters"),
    /** Postgres connection string. Without it the service uses an embedded PGlite database. */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
    PGLITE_DIR: z.string().default(".data/pglite"),
    DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
    /** Built UI to serve at the public origin; a placeholder page is served when absent. */
    UI_DIST_DIR: z.string().default("ui/dist"),
    BODY_LIMIT: z.string().default("64kb"),
    /** Most password changes one identity may make in an hour. */
    PASSWORD_CHANGES_PER_HOUR: z.coerce.number().int().min(1).max(1000).default(5),
    /**
     * Password history: a new password may not be any of the last N the identity had, the
     * current one included (0 or 1: only the current one). Each kept hash costs one bcrypt
     * compare per password change, so the maximum stays small.
     */
    PASSWORD_HISTORY: z.coerce.number().int().min(0).max(24).default(5),
    /** Hook deliveries (what Kratos's web_hooks sent, operator's part only) are kept this long. */
    HOOK_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
    /** Pending security changes older than this are settled against the admin API. */
    RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(5).max(86_400).default(120),
    /** Number of reverse-proxy hops in front of the service whose X-Forwarded-For is trusted. */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    LOG_PRETTY: bool.optional(),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL")
      .optional(),
    MAIL_FROM: z.string().default("kratos-guard <security@kratos-guard.local>"),
    SECURITY_TEAM_EMAILS: z
      .string()
      .default("")
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.email())),
    /** Notification dispatcher: failed sends before a notification is dead. */
    NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    /** How often each replica's audit sealer looks for unsealed entries (one seals at a time). */
    AUDIT_SEAL_INTERVAL_MS: z.coerce.number().int().min(10).max(10_000).default(100),
    /** How often the dispatcher looks for due notifications when idle. */
    NOTIFY_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
    /** Notifications claimed per round trip. */
    NOTIFY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
    /** Sends in flight at once per replica (and SMTP pool connections). */
    NOTIFY_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(5),
    /**
     * A claim's lease: a crashed replica's notifications are picked up after it. Keep it well
     * above one SMTP exchange (timeouts: 10 s connect, 10 s greeting, 30 s idle socket).
     */
    NOTIFY_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
    /** First retry delay after a failed send; doubles per attempt (with jitter), at most 1 h. */
    NOTIFY_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
    /** Brute-force limits on login (proxy/guards.ts): failed attempts per account, then a block. */
    LOGIN_MAX_FAILURES_PER_IDENTIFIER: z.coerce.number().int().min(1).max(1000).default(5),
    /** How long a series of failed attempts on one account is remembered. */
    LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(3600),
    /** First block after a series of failures; each further block doubles, up to the max. */
    LOGIN_BLOCK_BASE_SECONDS: z.coerce.number().int().min(1).default(60),
    LOGIN_BLOCK_MAX_SECONDS: z.coerce.number().int().min(1).default(3600),
    /** Failed attempts per client IP (any account) in a fixed window. */
    LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100000).default(50),
    LOGIN_IP_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
    /**
     * How recent a sign-in Kratos wants before a security change (its
     * `privileged_session_max_age`, the same variable): creating an API key asks for one too.
     * A Go duration such as `15m`, `1h30m` or `90s`.
     */
    KRATOS_PRIVILEGED_SESSION_MAX_AGE: z
      .string()
      .default("15m")
      .transform((v, ctx) => {
        const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v.trim())
        const ms = m ? ((+(m[1] ?? 0) * 60 + +(m[2] ?? 0)) * 60 + +(m[3] ?? 0)) * 1000 : 0
        if (!m || ms <= 0) {
          ctx.addIssue({ code: "custom", message: "expected a duration such as 15m, 1h or 90s" })
          return z.NEVER
        }
        return ms
      }),
    /** API keys (the gate's `Authorization: Bearer kg_…`): most active keys per admin. */
    API_KEYS_MAX_PER_ADMIN: z.coerce.number().int().min(0).max(100).default(3),
    /** Most active keys per member. */
    API_KEYS_MAX_PER_MEMBER: z.coerce.number().int().min(0).max(1000).default(10),
    /** Gate calls one key may make in a minute. */
    API_KEY_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    /** Refused key attempts (malformed, unknown, wrong secret) per client IP in a window. */
    API_KEY_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100000).default(20),
    API_KEY_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
    /** Lost-device recovery requests: hours an open request waits for a decision. */
    RECOVERY_REQUEST_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(72),
    /** An admin's (or super admin's) recovery request needs two admins' approvals. */
    RECOVERY_FOUR_EYES: bool.default(true),
    /**
     * Outbound security events: networks a subscriber URL may reach although they are
     * loopback, private or link-local (CIDRs or addresses, comma-separated). Empty: none.
     */
    EVENT_SUBSCRIBER_ALLOWED_NETWORKS: z
      .string()
      .default("")
      .refine((v) => {
        try {
          parseNetworks(v)
          return true
        } catch {
          return false
        }
      }, "must be comma-separated addresses or CIDRs"),
    /** Failed attempts before a security event delivery is dead. */
    EVENT_DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
    /** How often the event sender looks for due deliveries when idle. */
    EVENT_DELIVERY_POLL_MS: z.coerce.number().int().min(20).max(60_000).default(250),
    /** Subscribers served side by side per replica (each has one request in flight at most). */
    EVENT_DELIVERY_LANES: z.coerce.number().int().min(1).max(100).default(8),
    /** Deliveries one lane claim sends, in order. */
    EVENT_DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
    /** A lane claim's lease: a crashed replica's subscribers are picked up after it. */
    EVENT_DELIVERY_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    /** A receiver's deadline for one delivery (connect to last byte). */
    EVENT_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /** First retry delay after a failed delivery; doubles per attempt (with jitter), at most 1 h. */
    EVENT_DELIVERY_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
    /** Dev only: the local event receiver's page (npm start), proxied at /dev/events. */
    DEV_EVENTS_URL: url.optional(),
    /** Dev only: the web inbox of the local mail sink, proxied at /dev/mail. */
    DEV_MAIL_URL: url.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === "production" && !c.DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_URL"], message: "is required in production" })
    }
  })

export type Config = z.infer<typeof configSchema>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`)
    this.name = "ConfigError"
  }
}

/** Parses the environment or throws a ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (e.g. `DATABASE_URL=` in a compose .env) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""))
  const result = configSchema.safeParse(present)
  if (result.success) return result.data
  throw new ConfigError(
    result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
  )
}

import nodemailer, { type Transporter } from "nodemailer"
import type SMTPPool from "nodemailer/lib/smtp-pool"

/**
 * nodemailer options from an `smtp://` / `smtps://` URL as Kratos's courier takes it:
 * `?disable_starttls=true` (plain SMTP, e.g. a local sink) and `?skip_ssl_verify=true` are
 * understood and removed; user and password come from the URL's userinfo.
 */
export function smtpOptions(
  smtpUrl: string,
  pool: { maxConnections: number },
): SMTPPool.Options & { pool: true } {
  const u = new URL(smtpUrl)
  const secure = u.protocol === "smtps:"
  const flag = (name: string) => ["true", "1"].includes(u.searchParams.get(name) ?? "")
  const disableStartTls = flag("disable_starttls")
  const skipVerify = flag("skip_ssl_verify")
  return {
    pool: true,
    maxConnections: pool.maxConnections,
    maxMessages: 1000,
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ignoreTLS: !secure && disableStartTls,
    ...(u.username
      ? {
          auth: {
            user: decodeURIComponent(u.username),
            pass: decodeURIComponent(u.password),
          },
        }
      : {}),
    ...(skipVerify ? { tls: { rejectUnauthorized: false } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  }
}

export function createSmtpTransport(
  smtpUrl: string,
  pool: { maxConnections: number },
): Transporter {
  return nodemailer.createTransport(smtpOptions(smtpUrl, pool))
}

/**
 * An error as it may be stored and shown to admins: code and SMTP reply, never the URL's
 * credentials, one line, bounded.
 */
export function describeSendError(err: unknown, smtpUrl?: string): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown }
  const parts = [
    typeof e.code === "string" ? e.code : null,
    typeof e.responseCode === "number" ? String(e.responseCode) : null,
    typeof e.message === "string" ? e.message : String(err),
  ].filter(Boolean)
  let text = parts.join(" ").replace(/\s+/g, " ")
  // Any userinfo in a URL, and the configured password verbatim.
  text = text.replace(/([a-z]+:\/\/)[^@\s/]*@/gi, "$1***@")
  if (smtpUrl) {
    try {
      const pass = decodeURIComponent(new URL(smtpUrl).password)
      if (pass) text = text.split(pass).join("***")
    } catch {
      // not a URL: nothing to hide
    }
  }
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}

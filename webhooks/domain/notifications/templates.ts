import { deviceName } from "../device"

/**
 * Notification mails: plain text plus a simple HTML version of the same paragraphs. Every
 * value that ends up in a mail is named here explicitly (never a whole `details` object), so
 * no code, token or link carrying one can slip in; HTML escapes every interpolated value.
 */

/** Who a mail goes to and why; the outbox's `kind` column. */
export const notificationKinds = [
  "user.password_changed",
  "user.2fa_disabled",
  "user.recovery_codes_regenerated",
  "user.recovery_code_used",
  "user.new_device_login",
  "force_change_completed.manager",
  "force_change_completed.security",
  "admin_2fa_reset.manager",
  "admin_2fa_reset.security",
  "user_deactivated.manager",
  "user_deactivated.security",
] as const
export type NotificationKind = (typeof notificationKinds)[number]

export interface TemplateContext {
  subject: { id: string; email: string | null }
  /** Who made the change when it was not the subject (an administrator). */
  actor?: { id: string | null; email?: string | null } | null
  occurredAt: Date
  ip?: string | null
  userAgent?: string | null
  /** The audit entry's details; templates read only the named, non-secret fields below. */
  details?: Record<string, unknown>
  /** The service's public origin, for a link to the Security page (never carries a token). */
  publicUrl?: string | null
}

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  )
}

/** "2026-06-05 14:03:07 UTC": unambiguous whatever the reader's time zone. */
export function formatWhen(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`
}

/** Header-safe and bounded: no line breaks, at most 200 characters. */
function oneLine(s: string, max = 200): string {
  const flat = s.replace(/[\r\n\t]+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.trim() ? oneLine(v) : null
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null
}

/** "from Firefox on Windows (IP 203.0.113.7)", or "" when neither is known. */
function origin(c: TemplateContext): string {
  const device = c.userAgent ? deviceName(c.userAgent) : null
  const ip = str(c.ip)
  if (device && ip) return ` from ${oneLine(device)} (IP ${ip})`
  if (device) return ` from ${oneLine(device)}`
  if (ip) return ` from IP ${ip}`
  return ""
}

function who(c: TemplateContext): string {
  return str(c.subject.email) ?? `user ${c.subject.id}`
}

function adminName(c: TemplateContext): string {
  return str(c.actor?.email) ?? (c.actor?.id ? `administrator ${c.actor.id}` : "an administrator")
}

function securityPage(c: TemplateContext): string {
  const base = str(c.publicUrl)
  return base ? `${base.replace(/\/+$/, "")}/settings?tab=security` : "the Security page"
}

function userNotMe(c: TemplateContext): string {
  return (
    'If this wasn\'t you, reset your password now with "Forgot password" on the sign-in page, ' +
    `review your sessions and two-factor methods on ${securityPage(c)}, and tell your security team.`
  )
}

const TEAM_NOT_EXPECTED =
  "If you did not expect this, contact the security team and review the user's audit log."

interface Draft {
  subject: string
  paragraphs: string[]
}

const drafts: Record<NotificationKind, (c: TemplateContext) => Draft> = {
  "user.password_changed": (c) => ({
    subject: "Your password was changed",
    paragraphs: [
      `The password of your account ${who(c)} was changed on ${formatWhen(c.occurredAt)}${origin(c)}.`,
      userNotMe(c),
    ],
  }),
  "user.2fa_disabled": (c) => {
    const method = str(c.details?.method)
    const what =
      method === "lookup_secret"
        ? "Your recovery codes were removed"
        : method === "totp"
          ? "Your authenticator app was unlinked"
          : "A two-factor method was removed"
    return {
      subject: "Two-factor authentication was turned off",
      paragraphs: [
        `${what} from your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}.`,
        userNotMe(c),
      ],
    }
  },
  "user.recovery_codes_regenerated": (c) => ({
    subject: "New recovery codes were generated",
    paragraphs: [
      `New recovery codes were generated for your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. Your previous codes no longer work.`,
      userNotMe(c),
    ],
  }),
  "user.recovery_code_used": (c) => {
    const left = num(c.details?.recovery_codes_left)
    return {
      subject: "A recovery code was used to sign in",
      paragraphs: [
        `A recovery code was used to sign in to your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}.` +
          (left !== null ? ` You have ${left} recovery code${left === 1 ? "" : "s"} left.` : ""),
        userNotMe(c),
      ],
    }
  },
  "user.new_device_login": (c) => ({
    subject: "New sign-in to your account",
    paragraphs: [
      `Your account ${who(c)} was signed in to on ${formatWhen(c.occurredAt)}${origin(c)}, a device we have not seen for this account before.`,
      "If this was you, there is nothing to do.",
      userNotMe(c),
    ],
  }),
  "force_change_completed.manager": (c) => forceChangeDraft(c),
  "force_change_completed.security": (c) => forceChangeDraft(c),
  "admin_2fa_reset.manager": (c) => resetDraft(c),
  "admin_2fa_reset.security": (c) => resetDraft(c),
  "user_deactivated.manager": (c) => deactivatedDraft(c),
  "user_deactivated.security": (c) => deactivatedDraft(c),
}

function forceChangeDraft(c: TemplateContext): Draft {
  const changedAt = str(c.details?.password_changed_at)
  const setAt = str(c.details?.set_at)
  return {
    subject: `${who(c)} completed a required password change`,
    paragraphs: [
      `${who(c)} changed their password` +
        (changedAt ? ` (password changed at ${changedAt})` : "") +
        `, as required by an administrator${setAt ? ` on ${setAt}` : ""}. ` +
        `The requirement was cleared on ${formatWhen(c.occurredAt)}${origin(c)}.`,
      "No action is needed. " + TEAM_NOT_EXPECTED,
    ],
  }
}

function resetDraft(c: TemplateContext): Draft {
  return {
    subject: `Two-factor authentication was reset for ${who(c)}`,
    paragraphs: [
      `${adminName(c)} reset two-factor authentication for ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. ` +
        "Their authenticator app, security keys and recovery codes were removed and their sessions were signed out; they must set up two-factor authentication again.",
      TEAM_NOT_EXPECTED,
    ],
  }
}

function deactivatedDraft(c: TemplateContext): Draft {
  return {
    subject: `${who(c)} was deactivated`,
    paragraphs: [
      `${adminName(c)} deactivated the account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. ` +
        "They can no longer sign in and their sessions were signed out.",
      TEAM_NOT_EXPECTED,
    ],
  }
}

const FOOTER = "This is an automatic security notification from kratos-guard. Do not reply."

/** Renders one notification; pure, so the unit tests can check every kind. */
export function renderNotification(kind: NotificationKind, c: TemplateContext): RenderedMail {
  const d = drafts[kind](c)
  const paragraphs = [...d.paragraphs, FOOTER]
  const text = `${paragraphs.join("\n\n")}\n`
  const html =
    '<!doctype html><html><body style="font:15px/1.5 system-ui,sans-serif;color:#1f2937;max-width:40rem">' +
    paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("") +
    "</body></html>"
  return { subject: oneLine(d.subject), text, html }
}

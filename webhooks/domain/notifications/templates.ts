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
  "user.recovery_request_code",
  "user.recovery_requested",
  "user.recovery_request_approved",
  "user.recovery_request_denied",
  "user.recovery_request_expired",
  "recovery_requested.manager",
  "recovery_requested.security",
  "recovery_request_second_approval.security",
  "recovery_request_denied.manager",
  "recovery_request_denied.security",
  "user.2fa_enabled",
  "user.session_revoked",
  "user.security_key_added",
  "user.security_key_removed",
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
  /** user.recovery_request_code only: the code the person types (never in the audit trail). */
  oneTimeCode?: string | null
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
  "user.2fa_enabled": (c) => ({
    subject: "Two-factor authentication was turned on",
    paragraphs: [
      `An authenticator app was linked to your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. Signing in now asks for its code.`,
      userNotMe(c),
    ],
  }),
  "user.session_revoked": (c) => {
    const device = str(c.details?.device)
    return {
      subject: "One of your sessions was signed out",
      paragraphs: [
        `A session of your account ${who(c)}${device ? ` (${device})` : ""} was signed out on ${formatWhen(c.occurredAt)}${origin(c)}.`,
        userNotMe(c),
      ],
    }
  },
  "user.security_key_added": (c) => {
    const passkey = str(c.details?.method) === "passkey"
    return {
      subject: passkey ? "A passkey was added" : "A security key was added",
      paragraphs: [
        `A ${passkey ? "passkey" : "security key"} was added to your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. It can now be used to sign in.`,
        userNotMe(c),
      ],
    }
  },
  "user.security_key_removed": (c) => {
    const passkey = str(c.details?.method) === "passkey"
    return {
      subject: passkey ? "A passkey was removed" : "A security key was removed",
      paragraphs: [
        `A ${passkey ? "passkey" : "security key"} was removed from your account ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}.`,
        userNotMe(c),
      ],
    }
  },
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
  "user.recovery_request_code": (c) => ({
    subject: "Your code for a lost-device request",
    paragraphs: [
      `Your code is ${/^\d{6}$/.test(c.oneTimeCode ?? "") ? c.oneTimeCode : "(unavailable)"}. Enter it on the lost-device page to send your request to an administrator. It works for 15 minutes.`,
      `It was asked for on ${formatWhen(c.occurredAt)}${origin(c)}, signed in with the password of your account ${who(c)}. ` +
        "If this wasn't you, don't share the code: change your password now and tell your security team.",
    ],
  }),
  "user.recovery_requested": (c) => ({
    subject: "You asked to reset your two-factor authentication",
    paragraphs: [
      `A lost-device request for your account ${who(c)} was sent to your administrators on ${formatWhen(c.occurredAt)}${origin(c)}. ` +
        "Once an administrator approves it, your second factors are removed and you set up a new one.",
      userNotMe(c),
    ],
  }),
  "user.recovery_request_approved": (c) => ({
    subject: "Your lost-device request was approved",
    paragraphs: [
      `${adminName(c)} approved your lost-device request on ${formatWhen(c.occurredAt)}${origin(c)}. ` +
        "Your authenticator app, security keys and recovery codes were removed and your other sessions were signed out.",
      `Set up two-factor authentication again now on ${securityPage(c)}.`,
      "If this wasn't you, someone knows your password and reads your mail: reset your password now and tell your security team.",
    ],
  }),
  "user.recovery_request_denied": (c) => ({
    subject: "Your lost-device request was denied",
    paragraphs: [
      `An administrator denied your lost-device request on ${formatWhen(c.occurredAt)}${origin(c)}. Nothing on your account was changed.` +
        (str(c.details?.note) ? ` Their note: "${str(c.details?.note)}"` : ""),
      "Contact your administrator or security team if you still can't sign in.",
      "If this wasn't you, someone knows your password: reset it now and tell your security team.",
    ],
  }),
  "user.recovery_request_expired": (c) => ({
    subject: "Your lost-device request expired",
    paragraphs: [
      `Your lost-device request for ${who(c)} was not decided in time and expired on ${formatWhen(c.occurredAt)}${origin(c)}. Nothing on your account was changed.`,
      "You can send a new request from the sign-in page, or contact your administrator.",
      "If this wasn't you, someone knows your password: reset it now and tell your security team.",
    ],
  }),
  "recovery_requested.manager": (c) => requestedDraft(c),
  "recovery_requested.security": (c) => requestedDraft(c),
  "recovery_request_second_approval.security": (c) => ({
    subject: `A second approval is needed for ${who(c)}'s lost-device request`,
    paragraphs: [
      `${adminName(c)} approved the lost-device request of ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. ` +
        "It is an administrator's request, so a second administrator must approve it too before their second factors are reset.",
      `Review it in the admin console's recovery requests${consoleLink(c)}. ` + TEAM_NOT_EXPECTED,
    ],
  }),
  "recovery_request_denied.manager": (c) => deniedDraft(c),
  "recovery_request_denied.security": (c) => deniedDraft(c),
}

function consoleLink(c: TemplateContext): string {
  const base = str(c.publicUrl)
  return base ? ` (${base.replace(/\/+$/, "")}/admin/recovery)` : ""
}

function requestedDraft(c: TemplateContext): Draft {
  const previous = num(c.details?.previous_requests)
  return {
    subject: `${who(c)} asked for a lost-device reset`,
    paragraphs: [
      `${who(c)} says they lost their second factor and asked for a reset on ${formatWhen(c.occurredAt)}${origin(c)}, ` +
        "signed in with their password and a code mailed to their verified address." +
        (previous ? ` It is their request number ${previous + 1} in 90 days.` : ""),
      `An administrator approves or denies it in the admin console's recovery requests${consoleLink(c)}. ` +
        TEAM_NOT_EXPECTED,
    ],
  }
}

function deniedDraft(c: TemplateContext): Draft {
  return {
    subject: `${who(c)}'s lost-device request was denied`,
    paragraphs: [
      `${adminName(c)} denied the lost-device request of ${who(c)} on ${formatWhen(c.occurredAt)}${origin(c)}. Nothing on their account was changed.`,
      TEAM_NOT_EXPECTED,
    ],
  }
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

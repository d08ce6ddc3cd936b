import { useEffect, useState } from "react"
import { api, asApiError } from "../api"
import { Loading } from "../components/flow-status"
import { formatDateTime, formatLocation, formatRelative } from "./format"
import type { ActivityItem } from "./types"

// Who acted is added after the sentence (actorLabel), so no sentence names the actor itself.
const wording: Record<string, string> = {
  "auth.registered": "Account created",
  "auth.login": "Signed in",
  "auth.password_changed": "Password changed",
  "auth.2fa_enabled": "Two-factor authentication turned on",
  "auth.2fa_disabled": "Two-factor authentication turned off",
  "auth.2fa_recovery_codes_regenerated": "New recovery codes generated",
  "auth.webauthn_added": "Security key added",
  "auth.webauthn_removed": "Security key removed",
  "auth.passkey_added": "Passkey added",
  "auth.passkey_removed": "Passkey removed",
  "auth.recovery_code_used": "Recovery code used to sign in",
  "auth.profile_updated": "Profile updated",
  "auth.session_revoked": "Session signed out",
  "auth.force_password_change_required": "Password change requested",
  "auth.force_password_change_cleared": "Requested password change completed",
  "auth.api_key_created": "API key created",
  "auth.api_key_revoked": "API key revoked",
  "auth.api_keys_revoked": "API keys revoked",
  "admin.api_key_created": "API key created by an administrator",
  "admin.api_key_revoked": "API key revoked by an administrator",
  "admin.role_changed": "Role changed",
  "admin.manager_changed": "Manager changed",
  "admin.2fa_reset": "Two-factor authentication reset",
  "admin.sessions_revoked": "Signed out everywhere",
  "admin.user_deactivated": "Account deactivated",
  "admin.user_reactivated": "Account reactivated",
  "admin.user_provisioned": "Account created",
  "system.authorization_repaired": "Role and account status set again after an outside change",
  "auth.notification_settings_changed": "Notification settings changed",
}

/** A sentence for an audit event name; unknown names are shown readably rather than hidden. */
export function describeEvent(item: Pick<ActivityItem, "event" | "details">): string {
  const base = wording[item.event] ?? item.event.replace(/^[a-z]+\./, "").replace(/_/g, " ")
  const d = item.details
  if (item.event === "auth.login" && typeof d.method === "string") {
    return `${base} with ${methodName(d.method)}`
  }
  if (item.event.includes("api_key") && typeof d.label === "string") {
    return `${base}: ${d.label}`
  }
  if (item.event === "auth.api_keys_revoked" && typeof d.reason === "string") {
    const why: Record<string, string> = {
      password_changed: "when your password changed",
      "2fa_reset": "when your two-factor authentication was reset",
      deactivated: "when your account was deactivated",
    }
    return why[d.reason] ? `${base} ${why[d.reason]}` : base
  }
  if (item.event === "admin.role_changed" && typeof d.to === "string") {
    return `${base} to ${d.to.replace("_", " ")}`
  }
  if (
    (item.event === "auth.webauthn_added" || item.event === "auth.webauthn_removed") &&
    typeof d.name === "string"
  ) {
    return `${base}: ${d.name}`
  }
  return base
}

function methodName(method: string): string {
  const names: Record<string, string> = {
    password: "password",
    totp: "authenticator app",
    lookup_secret: "a recovery code",
    webauthn: "security key",
    passkey: "passkey",
    code: "one-time code",
  }
  return names[method] ?? method
}

const actorLabel: Record<ActivityItem["actor"], string | null> = {
  self: null,
  admin: "by an administrator",
  system: "by the system",
}

/** The signed-in user's own audit trail, newest first, a page at a time. */
export function ActivityTab() {
  const [items, setItems] = useState<ActivityItem[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [state, setState] = useState<"loading" | "ready" | "more" | "failed">("loading")
  const [error, setError] = useState("")

  const load = async (after: string | null) => {
    setState(after ? "more" : "loading")
    try {
      const query = after ? `?cursor=${encodeURIComponent(after)}` : ""
      const page = await api.get<{ items: ActivityItem[]; next_cursor: string | null }>(
        `/api/me/activity${query}`,
      )
      setItems((old) => (after ? [...old, ...page.items] : page.items))
      setCursor(page.next_cursor)
      setState("ready")
    } catch (err) {
      setError(asApiError(err).message)
      setState("failed")
    }
  }

  useEffect(() => {
    void load(null)
  }, [])

  return (
    <section className="kg-section" aria-labelledby="kg-activity-title" data-testid="kg-activity">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-activity-title" className="kg-section__title">
            Recent security activity
          </h2>
          <p className="kg-section__description">
            Every change to how you sign in is recorded here. If something looks unfamiliar, change
            your password and sign out your other sessions.
          </p>
        </div>
      </header>
      {state === "loading" && <Loading label="Loading activity…" />}
      {state === "failed" && (
        <p className="kg-notice kg-notice--error">
          Couldn't load your activity: {error}{" "}
          <button type="button" className="kg-link-button" onClick={() => void load(null)}>
            Try again
          </button>
        </p>
      )}
      {state !== "loading" && items.length === 0 && state !== "failed" && (
        <p className="kg-empty">No activity yet.</p>
      )}
      {items.length > 0 && (
        <ol className="kg-list kg-timeline" aria-label="Activity">
          {items.map((item) => {
            const place = formatLocation(item.location)
            return (
              <li
                key={item.id}
                className="kg-list__item"
                data-testid="kg-activity-item"
                data-event={item.event}
              >
                <div className="kg-list__main">
                  <p className="kg-list__title">
                    {describeEvent(item)}
                    {actorLabel[item.actor] && (
                      <span className="kg-list__by"> {actorLabel[item.actor]}</span>
                    )}
                  </p>
                  <p className="kg-list__meta">
                    {[item.device, item.ip, place].filter(Boolean).join(" · ")}
                  </p>
                </div>
                <time
                  className="kg-list__time"
                  dateTime={item.occurred_at}
                  title={formatDateTime(item.occurred_at)}
                >
                  {formatRelative(item.occurred_at)}
                </time>
              </li>
            )
          })}
        </ol>
      )}
      {cursor && state !== "failed" && (
        <div className="kg-form__actions">
          <button
            type="button"
            className="kg-button"
            onClick={() => void load(cursor)}
            disabled={state === "more"}
          >
            {state === "more" ? "Loading…" : "Show older activity"}
          </button>
        </div>
      )}
    </section>
  )
}

import { useState } from "react"
import { api, asApiError } from "../api"
import { useToast } from "../components/toaster"
import { Loading } from "../components/flow-status"
import { formatDateTime, formatLocation, formatRelative } from "./format"
import type { SessionView } from "./types"
import { useResource } from "../use-resource"

/** Where the user is signed in: this device first, then the others, each revocable. */
export function SessionsCard() {
  const notify = useToast()
  const {
    resource: sessions,
    reload,
    setData,
  } = useResource("sessions", () => api.get<{ sessions: SessionView[] }>("/api/me/sessions"))
  const [busy, setBusy] = useState<string | null>(null)

  const revoke = async (id: string | "others") => {
    setBusy(id)
    try {
      if (id === "others") {
        // The service answers the sessions it signed out, not a count.
        const { revoked } = await api.delete<{ revoked: SessionView[] }>("/api/me/sessions")
        const n = revoked.length
        notify(
          "success",
          n === 0
            ? "No other sessions were signed in."
            : `Signed out of ${n} other ${n === 1 ? "session" : "sessions"}.`,
        )
      } else {
        await api.delete(`/api/me/sessions/${encodeURIComponent(id)}`)
        notify("success", "Session signed out.")
      }
      // Off the list at once; the reload brings whatever else changed meanwhile.
      setData((d) => ({
        sessions: d.sessions.filter((s) => (id === "others" ? s.current : s.id !== id)),
      }))
      reload()
    } catch (err) {
      notify("error", asApiError(err).message)
    } finally {
      setBusy(null)
    }
  }

  const list = sessions.status === "ready" ? sessions.data.sessions : []
  return (
    <section className="kg-section" aria-labelledby="kg-sessions-title" data-testid="kg-sessions">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-sessions-title" className="kg-section__title">
            Where you're signed in
          </h2>
          <p className="kg-section__description">
            Sign out of any session you don't recognise, then change your password.
          </p>
        </div>
        {list.length >= 2 && (
          <button
            type="button"
            className="kg-button kg-button--small"
            onClick={() => void revoke("others")}
            disabled={busy !== null}
          >
            {busy === "others" ? "Signing out…" : "Sign out everywhere else"}
          </button>
        )}
      </header>
      {sessions.status === "loading" && <Loading label="Loading sessions…" />}
      {sessions.status === "error" && (
        <p className="kg-notice kg-notice--error">
          Couldn't load your sessions: {sessions.error.message}{" "}
          <button type="button" className="kg-link-button" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      {sessions.status === "ready" && (
        <ul className="kg-list" aria-label="Sessions">
          {list.map((s) => {
            const place = formatLocation(s.location)
            return (
              <li
                key={s.id}
                className="kg-list__item"
                data-testid="kg-session"
                data-current={s.current}
              >
                <div className="kg-list__main">
                  <p className="kg-list__title">
                    {s.device.name}
                    {s.current && <span className="kg-badge">Current</span>}
                  </p>
                  <p className="kg-list__meta">
                    {[s.ip, place].filter(Boolean).join(" · ") || "Unknown location"}
                  </p>
                  <p className="kg-list__meta">
                    {s.current ? "Active now" : `Last active ${formatRelative(s.last_active_at)}`}
                    {" · "}
                    <span title={formatDateTime(s.authenticated_at)}>
                      signed in {formatRelative(s.authenticated_at)}
                    </span>
                    {s.aal === "aal2" && " · two-factor"}
                  </p>
                </div>
                {!s.current && (
                  <button
                    type="button"
                    className="kg-button kg-button--small kg-button--danger"
                    onClick={() => void revoke(s.id)}
                    disabled={busy !== null}
                    aria-label={`Sign out ${s.device.name}${s.ip ? ` at ${s.ip}` : ""}`}
                  >
                    {busy === s.id ? "Signing out…" : "Revoke"}
                  </button>
                )}
              </li>
            )
          })}
        </ul>
      )}
    </section>
  )
}

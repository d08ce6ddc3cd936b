import { useRef, useState } from "react"
import { api, asApiError } from "../api"
import { Loading } from "../components/flow-status"
import { confiningReasons, securityPageFor } from "../gate"
import { useResource } from "../use-resource"
import {
  personNotificationLabels,
  type PersonNotificationKind,
} from "../../../webhooks/policy/notification-choices"
import type { NotificationSetting } from "./types"

type Settings = { items: NotificationSetting[] }

/** What became of the last change to one switch, shown under it. */
type RowState =
  { state: "saving" } | { state: "saved"; enabled: boolean } | { state: "failed"; message: string }

/**
 * The security emails about the person's own account, each with a switch; the ones the
 * organisation makes mandatory are on and locked. A switch saves on its own, at once.
 */
export function NotificationsTab() {
  const { resource, reload, setData } = useResource("notifications", () =>
    api.get<Settings>("/api/me/notifications"),
  )
  const [rows, setRows] = useState<Partial<Record<PersonNotificationKind, RowState>>>({})
  // The switch stays enabled while it saves (disabling it would drop the keyboard's focus), so
  // only the answer to the latest change of a switch is taken.
  const latest = useRef<Partial<Record<PersonNotificationKind, number>>>({})

  const setRow = (kind: PersonNotificationKind, row: RowState) =>
    setRows((all) => ({ ...all, [kind]: row }))
  // Only the switched row is taken from the answer: an answer to an earlier change that arrives
  // late must not turn another switch back.
  const replaceItem = (item: NotificationSetting) =>
    setData((d) => ({ items: d.items.map((i) => (i.kind === item.kind ? item : i)) }))

  const change = async (kind: PersonNotificationKind, enabled: boolean) => {
    const previous = resource.status === "ready" && resource.data.items.find((i) => i.kind === kind)
    if (!previous) return
    const turn = (latest.current[kind] ?? 0) + 1
    latest.current[kind] = turn
    replaceItem({ ...previous, enabled })
    setRow(kind, { state: "saving" })
    try {
      const answer = await api.put<Settings>("/api/me/notifications", { [kind]: enabled })
      if (latest.current[kind] !== turn) return
      const saved = answer.items.find((i) => i.kind === kind)
      if (saved) replaceItem(saved)
      setRow(kind, { state: "saved", enabled: saved?.enabled ?? enabled })
    } catch (err) {
      if (latest.current[kind] !== turn) return
      const error = asApiError(err)
      replaceItem({ ...previous, enabled: !enabled })
      if (error.reason === "notification_mandatory") {
        // The organisation made it mandatory since the page loaded: show the list as it is now.
        setRow(kind, { state: "failed", message: "Your organisation now requires this email." })
        reload()
      } else {
        setRow(kind, { state: "failed", message: `Couldn't save: ${error.message}` })
      }
    }
  }

  const confinedBy =
    resource.status === "error" &&
    resource.error.status === 403 &&
    resource.error.reason &&
    confiningReasons.has(resource.error.reason)
      ? resource.error.reason
      : null

  return (
    <section
      className="kg-section"
      aria-labelledby="kg-notifications-title"
      data-testid="kg-notifications"
    >
      <header className="kg-section__header">
        <div>
          <h2 id="kg-notifications-title" className="kg-section__title">
            Security emails
          </h2>
          <p className="kg-section__description">
            We email you when something changes about how you sign in, so you notice quickly if it
            wasn't you. Switched-off emails still show up in your activity.
          </p>
        </div>
      </header>
      {resource.status === "loading" && <Loading label="Loading your email settings…" />}
      {confinedBy && (
        <p className="kg-notice kg-notice--warn">
          Finish securing your account first; then you can choose your emails.{" "}
          <a href={securityPageFor(confinedBy)}>Go to Security</a>
        </p>
      )}
      {resource.status === "error" && !confinedBy && (
        <p className="kg-notice kg-notice--error">
          Couldn't load your email settings: {resource.error.message}{" "}
          <button type="button" className="kg-link-button" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      {resource.status === "ready" && (
        <>
          <ul className="kg-list" aria-label="Security emails">
            {resource.data.items.map((item) => (
              <NotificationRow
                key={item.kind}
                item={item}
                row={rows[item.kind]}
                onChange={(enabled) => void change(item.kind, enabled)}
              />
            ))}
          </ul>
          <p className="kg-hint kg-notifications__note" data-testid="kg-notifications-note">
            Emails to your manager and your organisation's security team, such as when an
            administrator resets your two-factor authentication or a requested password change is
            done, aren't listed here: they aren't yours to switch off.
          </p>
        </>
      )}
    </section>
  )
}

function NotificationRow({
  item,
  row,
  onChange,
}: {
  item: NotificationSetting
  row: RowState | undefined
  onChange: (enabled: boolean) => void
}) {
  const { label, description } = personNotificationLabels[item.kind]
  const id = `kg-notify-${item.kind.replace(/\W/g, "-")}`
  const describedBy = [`${id}-description`, item.mandatory ? `${id}-lock` : null]
    .filter(Boolean)
    .join(" ")
  return (
    <li
      className="kg-list__item kg-notify"
      data-testid="kg-notification"
      data-kind={item.kind}
      data-mandatory={item.mandatory}
    >
      <div className="kg-list__main">
        <label className="kg-list__title kg-notify__label" htmlFor={id}>
          {label}
        </label>
        <p className="kg-list__meta" id={`${id}-description`}>
          {description}
        </p>
        {item.mandatory && (
          <p className="kg-notify__lock" id={`${id}-lock`}>
            <LockIcon />
            Required by your organisation
          </p>
        )}
        <p
          className={`kg-notify__status${row?.state === "failed" ? " kg-notify__status--failed" : ""}`}
          aria-live="polite"
          data-testid="kg-notification-status"
        >
          {row?.state === "saving" && "Saving…"}
          {row?.state === "saved" &&
            (row.enabled ? "Saved: this email is on." : "Saved: this email is off.")}
          {row?.state === "failed" && row.message}
        </p>
      </div>
      <input
        type="checkbox"
        role="switch"
        className="kg-switch"
        id={id}
        checked={item.enabled}
        disabled={item.mandatory}
        aria-busy={row?.state === "saving" || undefined}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
    </li>
  )
}

function LockIcon() {
  return (
    <svg
      className="kg-notify__lock-icon"
      viewBox="0 0 16 16"
      width="14"
      height="14"
      aria-hidden="true"
      focusable="false"
    >
      <path
        fill="currentColor"
        d="M8 1a3.5 3.5 0 0 0-3.5 3.5V6H4a1.5 1.5 0 0 0-1.5 1.5v6A1.5 1.5 0 0 0 4 15h8a1.5 1.5 0 0 0 1.5-1.5v-6A1.5 1.5 0 0 0 12 6h-.5V4.5A3.5 3.5 0 0 0 8 1Zm2 5H6V4.5a2 2 0 1 1 4 0V6Z"
      />
    </svg>
  )
}

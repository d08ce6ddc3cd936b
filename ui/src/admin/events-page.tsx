import { useState, type FormEvent } from "react"
import { api, type ApiError } from "../api"
import { Loading } from "../components/flow-status"
import { useConsole } from "./admin-console"
import {
  Badge,
  ConfirmDialog,
  CopyField,
  Dialog,
  EmptyState,
  ErrorState,
  InlineError,
  LoadMoreButton,
  useToast,
} from "./components"
import { asApiError, formatDateTime, formatRelative, useLoadMore, useResource } from "./lib"
import type {
  EventDelivery,
  EventDeliveryPage,
  EventSubscriber,
  EventSubscriberList,
  EventSubscriberSecret,
} from "./types"

const DEFAULT_TYPES = "auth.*, admin.*, policy.*, system.*"

const splitTypes = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean)

/** `/admin/events`: where the security trail is sent as signed webhooks (a SIEM, a SOC tool). */
export function EventsPage() {
  const { viewer } = useConsole()
  const editable = viewer.role === "super_admin"
  const { resource, reload, setData } = useResource("event-subscribers", () =>
    api.get<EventSubscriberList>("/api/admin/event-subscribers"),
  )
  const [adding, setAdding] = useState(false)
  const [secret, setSecret] = useState<{ name: string; secret: string; rotated: boolean } | null>(
    null,
  )
  const replace = (s: EventSubscriber) =>
    setData((d) => ({
      ...d,
      subscribers: d.subscribers.map((x) => (x.id === s.id ? { ...s, counts: x.counts } : x)),
    }))

  return (
    <section aria-labelledby="kg-events-title">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-events-title" className="kg-admin-section-title">
            Security events
          </h2>
          <p className="kg-admin-muted">
            Every audit entry a subscriber asks for is sent to it as a CloudEvent, signed the
            Standard Webhooks way, in the order of the audit trail. A receiver that is down gets
            everything once it is back.
          </p>
        </div>
        <div className="kg-admin-actions">
          <button type="button" className="kg-button" onClick={reload}>
            Refresh
          </button>
          {editable && (
            <button
              type="button"
              className="kg-button kg-button--primary"
              onClick={() => setAdding(true)}
            >
              Add subscriber
            </button>
          )}
        </div>
      </div>

      {!editable && (
        <div className="kg-admin-notice" role="note">
          You can see the subscribers and retry failed deliveries. Only a super admin can add or
          change a subscriber, because it sends the whole security trail out of the organisation.
        </div>
      )}

      {resource.status === "loading" && <Loading label="Loading subscribers…" />}
      {resource.status === "error" && <ErrorState error={resource.error} onRetry={reload} />}
      {resource.status === "ready" &&
        (resource.data.subscribers.length === 0 ? (
          <EmptyState title="No subscribers yet">
            {editable
              ? "Add one to send sign-ins, 2FA changes and admin actions to your SIEM."
              : "A super admin can add one to send the security trail to your SIEM."}
          </EmptyState>
        ) : (
          <ul className="kg-events-list">
            {resource.data.subscribers.map((s) => (
              <SubscriberCard
                key={s.id}
                subscriber={s}
                editable={editable}
                onChanged={replace}
                onDeleted={() =>
                  setData((d) => ({
                    ...d,
                    subscribers: d.subscribers.filter((x) => x.id !== s.id),
                  }))
                }
                onSecret={(value) => setSecret({ name: s.name, secret: value, rotated: true })}
              />
            ))}
          </ul>
        ))}

      {resource.status === "ready" && (
        <AddSubscriberDialog
          open={adding}
          eventTypes={resource.data.event_types}
          onClose={() => setAdding(false)}
          onCreated={(made) => {
            setAdding(false)
            setData((d) => ({ ...d, subscribers: [...d.subscribers, made.subscriber] }))
            setSecret({ name: made.subscriber.name, secret: made.secret, rotated: false })
          }}
        />
      )}
      <Dialog open={secret !== null} onClose={() => setSecret(null)} title="Signing secret">
        {secret && (
          <div className="kg-admin-dialog__body">
            <p>
              {secret.rotated
                ? `The new secret of “${secret.name}”. Its old secret keeps signing beside it for 24 hours, so the receiver can switch without losing an event.`
                : `The secret “${secret.name}” signs with. Give it to the receiver to check the webhook-signature header.`}{" "}
              <strong>It is shown this once.</strong>
            </p>
            <CopyField label="Secret" value={secret.secret} />
            <div className="kg-admin-dialog__actions">
              <button
                type="button"
                className="kg-button kg-button--primary"
                onClick={() => setSecret(null)}
              >
                I have stored it
              </button>
            </div>
          </div>
        )}
      </Dialog>
    </section>
  )
}

function SubscriberCard({
  subscriber: s,
  editable,
  onChanged,
  onDeleted,
  onSecret,
}: {
  subscriber: EventSubscriber
  editable: boolean
  onChanged: (s: EventSubscriber) => void
  onDeleted: () => void
  onSecret: (secret: string) => void
}) {
  const toast = useToast()
  const [confirm, setConfirm] = useState<"rotate" | "delete" | null>(null)
  const [replaying, setReplaying] = useState(false)
  const [showDeliveries, setShowDeliveries] = useState(false)
  const [switching, setSwitching] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const toggle = async () => {
    setSwitching(true)
    setError(null)
    try {
      const res = await api.put<{ subscriber: EventSubscriber }>(
        `/api/admin/event-subscribers/${s.id}`,
        { enabled: !s.enabled },
      )
      onChanged(res.subscriber)
      toast(`“${s.name}” is ${res.subscriber.enabled ? "on" : "off"}.`)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setSwitching(false)
    }
  }
  const counts = s.counts
  return (
    <li className="kg-admin-panel kg-events-card">
      <div className="kg-events-card__head">
        <div className="kg-events-card__title">
          <h3 className="kg-admin-panel__title">{s.name}</h3>
          <code className="kg-admin-break kg-events-url">{s.url}</code>
        </div>
        <div className="kg-events-card__state">
          {s.enabled ? <Badge tone="good">On</Badge> : <Badge>Off</Badge>}
          {s.previous_secret_expires_at && (
            <Badge tone="info">Rotating until {formatDateTime(s.previous_secret_expires_at)}</Badge>
          )}
        </div>
      </div>
      <p className="kg-events-types" aria-label="Event types">
        {s.event_types.map((t) => (
          <code key={t} className="kg-events-type">
            {t}
          </code>
        ))}
      </p>
      {counts && (
        <dl className="kg-events-counts">
          <div>
            <dt>Delivered</dt>
            <dd>{counts.delivered}</dd>
          </div>
          <div>
            <dt>Waiting</dt>
            <dd>{counts.pending}</dd>
          </div>
          <div>
            <dt>Gave up</dt>
            <dd className={counts.dead > 0 ? "kg-events-bad" : undefined}>{counts.dead}</dd>
          </div>
          <div>
            <dt>Last delivery</dt>
            <dd>{counts.last_delivered_at ? formatRelative(counts.last_delivered_at) : "—"}</dd>
          </div>
        </dl>
      )}
      <div className="kg-admin-actions kg-events-card__actions">
        <button
          type="button"
          className="kg-button kg-button--small"
          aria-expanded={showDeliveries}
          onClick={() => setShowDeliveries((v) => !v)}
        >
          {showDeliveries ? "Hide deliveries" : "Deliveries"}
        </button>
        {editable && (
          <>
            <button
              type="button"
              className="kg-button kg-button--small"
              onClick={toggle}
              disabled={switching}
            >
              {s.enabled ? "Turn off" : "Turn on"}
            </button>
            <button
              type="button"
              className="kg-button kg-button--small"
              onClick={() => setReplaying(true)}
            >
              Replay…
            </button>
            <button
              type="button"
              className="kg-button kg-button--small"
              onClick={() => setConfirm("rotate")}
            >
              Rotate secret
            </button>
            <button
              type="button"
              className="kg-button kg-button--small kg-admin-button--danger"
              onClick={() => setConfirm("delete")}
            >
              Remove
            </button>
          </>
        )}
      </div>
      <InlineError error={error} />
      {showDeliveries && <Deliveries subscriberId={s.id} />}
      <ConfirmDialog
        open={confirm === "rotate"}
        title={`Rotate the secret of “${s.name}”?`}
        confirmLabel="Rotate secret"
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          const res = await api.post<EventSubscriberSecret>(
            `/api/admin/event-subscribers/${s.id}/rotate-secret`,
            { previous_valid_hours: 24 },
          )
          onChanged(res.subscriber)
          onSecret(res.secret)
        }}
      >
        A new secret is made and shown once. For 24 hours every event carries a signature by each
        secret, so the receiver can switch without losing an event.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title={`Remove “${s.name}”?`}
        confirmLabel="Remove subscriber"
        danger
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await api.delete(`/api/admin/event-subscribers/${s.id}`)
          toast(`“${s.name}” was removed.`)
          onDeleted()
        }}
      >
        It stops receiving events at once, and its undelivered events are dropped.
      </ConfirmDialog>
      <ReplayDialog open={replaying} subscriber={s} onClose={() => setReplaying(false)} />
    </li>
  )
}

function Deliveries({ subscriberId }: { subscriberId: string }) {
  const [status, setStatus] = useState<"" | "dead" | "pending" | "delivered">("")
  const key = `event-deliveries:${subscriberId}:${status}`
  const url = (cursor?: string) => {
    const q = new URLSearchParams({ limit: "20" })
    if (status) q.set("status", status)
    if (cursor) q.set("cursor", cursor)
    return `/api/admin/event-subscribers/${subscriberId}/deliveries?${q}`
  }
  const { resource, reload, setData } = useResource(key, () => api.get<EventDeliveryPage>(url()))
  const more = useLoadMore(key, setData)
  const statusId = `kg-events-status-${subscriberId}`
  return (
    <div className="kg-events-deliveries">
      <div className="kg-events-deliveries__bar">
        <label className="kg-admin-label" htmlFor={statusId}>
          Show
        </label>
        <select
          id={statusId}
          className="kg-admin-input kg-admin-input--short"
          value={status}
          onChange={(e) => setStatus(e.target.value as typeof status)}
        >
          <option value="">All</option>
          <option value="dead">Gave up</option>
          <option value="pending">Waiting</option>
          <option value="delivered">Delivered</option>
        </select>
        <button type="button" className="kg-button kg-button--small" onClick={reload}>
          Refresh
        </button>
      </div>
      {resource.status === "loading" && <Loading label="Loading deliveries…" />}
      {resource.status === "error" && <ErrorState error={resource.error} onRetry={reload} />}
      {resource.status === "ready" &&
        (resource.data.items.length === 0 ? (
          <p className="kg-admin-muted">No deliveries here yet.</p>
        ) : (
          <>
            <div className="kg-admin-table-wrap">
              <table className="kg-admin-table kg-admin-table--cards">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">State</th>
                    <th scope="col">Last error</th>
                    <th scope="col">
                      <span className="kg-admin-visually-hidden">Action</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {resource.data.items.map((d) => (
                    <DeliveryRow
                      key={d.id}
                      delivery={d}
                      onRetried={(next) =>
                        setData((page) => ({
                          ...page,
                          items: page.items.map((x) => (x.id === next.id ? next : x)),
                        }))
                      }
                    />
                  ))}
                </tbody>
              </table>
            </div>
            <div className="kg-admin-more">
              <span className="kg-admin-muted">{resource.data.items.length} shown</span>
              {resource.data.next_cursor && (
                <LoadMoreButton
                  loading={more.loading}
                  onClick={() =>
                    void more.loadMore(
                      () => api.get<EventDeliveryPage>(url(resource.data.next_cursor!)),
                      (data, page) => ({
                        items: [...data.items, ...page.items],
                        next_cursor: page.next_cursor,
                      }),
                    )
                  }
                />
              )}
            </div>
            <InlineError error={more.error} />
          </>
        ))}
    </div>
  )
}

function DeliveryRow({
  delivery: d,
  onRetried,
}: {
  delivery: EventDelivery
  onRetried: (d: EventDelivery) => void
}) {
  const toast = useToast()
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const failed = d.status === "dead" || (d.status === "pending" && d.attempts > 0)
  const retry = async () => {
    setPending(true)
    setError(null)
    try {
      const res = await api.post<{ delivery: EventDelivery }>(
        `/api/admin/event-deliveries/${d.id}/retry`,
      )
      onRetried(res.delivery)
      toast(`${d.event} is queued to send again, with the same id.`)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  return (
    <tr>
      <td data-label="Event">
        <span className="kg-admin-cell-title">{d.event}</span>
        <span className="kg-admin-cell-sub">
          <code>{d.event_id}</code> · {formatDateTime(d.created_at)}
        </span>
      </td>
      <td data-label="State">
        {d.status === "delivered" ? (
          <Badge tone="good">Delivered</Badge>
        ) : d.status === "dead" ? (
          <Badge tone="bad">Gave up</Badge>
        ) : d.attempts > 0 ? (
          <Badge tone="warn">Retrying</Badge>
        ) : (
          <Badge tone="info">Waiting</Badge>
        )}
        <span className="kg-admin-cell-sub">
          {d.status === "delivered"
            ? `${formatRelative(d.delivered_at)}${d.replays > 0 ? ` · replayed ${d.replays}×` : ""}`
            : `${d.attempts} failed attempt${d.attempts === 1 ? "" : "s"}${
                d.status === "pending" && d.attempts > 0
                  ? ` · next ${formatRelative(d.next_attempt_at)}`
                  : ""
              }`}
        </span>
      </td>
      <td data-label="Last error" className="kg-admin-break">
        {d.last_error ? (
          <code className="kg-admin-error-text">{d.last_error}</code>
        ) : (
          <span className="kg-admin-muted">—</span>
        )}
      </td>
      <td className="kg-admin-cell-action">
        {failed && (
          <div className="kg-admin-retry">
            <button
              type="button"
              className="kg-button kg-button--small"
              onClick={retry}
              disabled={pending}
              aria-label={`Retry ${d.event} ${d.event_id}`}
            >
              {pending ? "Retrying…" : "Retry"}
            </button>
            <InlineError error={error} />
          </div>
        )}
      </td>
    </tr>
  )
}

function AddSubscriberDialog({
  open,
  eventTypes,
  onClose,
  onCreated,
}: {
  open: boolean
  eventTypes: string[]
  onClose: () => void
  onCreated: (made: EventSubscriberSecret) => void
}) {
  const [name, setName] = useState("")
  const [url, setUrl] = useState("")
  const [types, setTypes] = useState(DEFAULT_TYPES)
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const families = [...new Set(eventTypes.map((t) => `${t.split(".")[0]}.*`))]
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setPending(true)
    setError(null)
    try {
      const made = await api.post<EventSubscriberSecret>("/api/admin/event-subscribers", {
        name,
        url,
        event_types: splitTypes(types),
      })
      setName("")
      setUrl("")
      setTypes(DEFAULT_TYPES)
      onCreated(made)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  return (
    <Dialog open={open} onClose={pending ? () => {} : onClose} title="Add an event subscriber" wide>
      <form className="kg-admin-dialog__body kg-events-form" onSubmit={submit} noValidate>
        <div className="kg-admin-field">
          <label className="kg-admin-label" htmlFor="kg-event-name">
            Name
          </label>
          <input
            id="kg-event-name"
            className="kg-admin-input"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            required
          />
        </div>
        <div className="kg-admin-field">
          <label className="kg-admin-label" htmlFor="kg-event-url">
            Receiver URL
          </label>
          <input
            id="kg-event-url"
            className="kg-admin-input"
            type="url"
            inputMode="url"
            placeholder="https://siem.example.com/webhooks/kratos-guard"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            aria-describedby="kg-event-url-hint"
            required
          />
          <span id="kg-event-url-hint" className="kg-admin-hint">
            https only. Internal, loopback and link-local addresses are refused unless the operator
            allow-lists them.
          </span>
        </div>
        <div className="kg-admin-field">
          <label className="kg-admin-label" htmlFor="kg-event-types">
            Event types
          </label>
          <input
            id="kg-event-types"
            className="kg-admin-input"
            value={types}
            onChange={(e) => setTypes(e.target.value)}
            aria-describedby="kg-event-types-hint"
          />
          <span id="kg-event-types-hint" className="kg-admin-hint">
            Audit event names or families, separated by commas: {families.join(", ")}, or * for
            everything.
          </span>
        </div>
        <InlineError error={error} />
        <div className="kg-admin-dialog__actions">
          <button type="button" className="kg-button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
          <button type="submit" className="kg-button kg-button--primary" disabled={pending}>
            {pending ? "Adding…" : "Add subscriber"}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

const localInput = (d: Date) => {
  const shifted = new Date(d.getTime() - d.getTimezoneOffset() * 60_000)
  return shifted.toISOString().slice(0, 16)
}

function ReplayDialog({
  open,
  subscriber,
  onClose,
}: {
  open: boolean
  subscriber: EventSubscriber
  onClose: () => void
}) {
  const toast = useToast()
  const [from, setFrom] = useState(() => localInput(new Date(Date.now() - 86_400_000)))
  const [to, setTo] = useState(() => localInput(new Date()))
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setPending(true)
    setError(null)
    try {
      const res = await api.post<{ queued: number }>(
        `/api/admin/event-subscribers/${subscriber.id}/replay`,
        { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      )
      toast(`${res.queued} event${res.queued === 1 ? "" : "s"} queued for “${subscriber.name}”.`)
      onClose()
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  return (
    <Dialog
      open={open}
      onClose={pending ? () => {} : onClose}
      title={`Replay events to “${subscriber.name}”`}
    >
      <form className="kg-admin-dialog__body kg-events-form" onSubmit={submit} noValidate>
        <p>
          Every matching entry of this period is sent again, with the id it had, so a receiver that
          keeps ids can drop what it already has. The replay is recorded in the audit log.
        </p>
        <div className="kg-events-range">
          <div className="kg-admin-field">
            <label className="kg-admin-label" htmlFor={`kg-replay-from-${subscriber.id}`}>
              From
            </label>
            <input
              id={`kg-replay-from-${subscriber.id}`}
              className="kg-admin-input"
              type="datetime-local"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
          </div>
          <div className="kg-admin-field">
            <label className="kg-admin-label" htmlFor={`kg-replay-to-${subscriber.id}`}>
              Until
            </label>
            <input
              id={`kg-replay-to-${subscriber.id}`}
              className="kg-admin-input"
              type="datetime-local"
              value={to}
              onChange={(e) => setTo(e.target.value)}
            />
          </div>
        </div>
        <InlineError error={error} />
        <div className="kg-admin-dialog__actions">
          <button type="button" className="kg-button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
          <button type="submit" className="kg-button kg-button--primary" disabled={pending}>
            {pending ? "Queuing…" : "Replay"}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

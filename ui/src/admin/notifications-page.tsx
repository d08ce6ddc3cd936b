import { useState } from "react"
import { api, type ApiError } from "../api"
import { Loading } from "../components/flow-status"
import {
  Badge,
  EmptyState,
  ErrorState,
  InlineError,
  Link,
  LoadMoreButton,
  useToast,
} from "./components"
import {
  asApiError,
  formatDateTime,
  formatRelative,
  useLoadMore,
  useResource,
  type AdminLocation,
} from "./lib"
import { notificationKindLabels, type FailedNotification, type NotificationPage } from "./types"

type StatusFilter = "all" | "dead" | "retrying"

const filters: { id: StatusFilter; label: string; href: string }[] = [
  { id: "all", label: "All failed", href: "/admin/notifications" },
  { id: "dead", label: "Gave up", href: "/admin/notifications?status=dead" },
  { id: "retrying", label: "Retrying", href: "/admin/notifications?status=retrying" },
]

/** A row's state in this page: as listed, or queued again by the admin's retry. */
type Row = FailedNotification & { retried?: boolean }

export function NotificationsPage({ location }: { location: AdminLocation }) {
  const param = location.query.get("status")
  const status: StatusFilter = param === "dead" || param === "retrying" ? param : "all"
  const key = `notifications:${status}`
  const url = (cursor?: string) => {
    const q = new URLSearchParams({ limit: "50" })
    if (status !== "all") q.set("status", status)
    if (cursor) q.set("cursor", cursor)
    return `/api/admin/notifications?${q}`
  }
  const { resource, reload, setData } = useResource(key, () => api.get<NotificationPage>(url()))
  const more = useLoadMore(key, setData)
  const loadMore = (cursor: string) =>
    void more.loadMore(
      () => api.get<NotificationPage>(url(cursor)),
      (data, page) => ({ items: [...data.items, ...page.items], next_cursor: page.next_cursor }),
    )

  const markRetried = (id: string) =>
    setData((d) => ({
      ...d,
      items: d.items.map((n) => (n.id === id ? ({ ...n, retried: true } as Row) : n)),
    }))

  return (
    <section aria-labelledby="kg-notifications-title">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-notifications-title" className="kg-admin-section-title">
            Notification failures
          </h2>
          <p className="kg-admin-muted">
            Security emails that could not be delivered. A retry sends the same message (same
            Message-ID), so nobody gets a confusing duplicate.
          </p>
        </div>
        <button type="button" className="kg-button" onClick={reload}>
          Refresh
        </button>
      </div>

      <nav className="kg-admin-segmented" aria-label="Filter by state">
        {filters.map((f) => (
          <Link
            key={f.id}
            href={f.href}
            className="kg-admin-segmented__item"
            aria-current={status === f.id ? "page" : undefined}
          >
            {f.label}
          </Link>
        ))}
      </nav>

      {resource.status === "loading" && <Loading label="Loading notifications…" />}
      {resource.status === "error" && <ErrorState error={resource.error} onRetry={reload} />}
      {resource.status === "ready" &&
        (resource.data.items.length === 0 ? (
          <EmptyState title="No failed notifications">
            Every security email {status === "all" ? "was delivered" : "in this view was delivered"}
            .
          </EmptyState>
        ) : (
          <>
            <NotificationTable rows={resource.data.items as Row[]} onRetried={markRetried} />
            <div className="kg-admin-more">
              <span className="kg-admin-muted">{resource.data.items.length} shown</span>
              {resource.data.next_cursor && (
                <LoadMoreButton
                  loading={more.loading}
                  onClick={() => loadMore(resource.data.next_cursor!)}
                />
              )}
            </div>
            <InlineError error={more.error} />
          </>
        ))}
    </section>
  )
}

function StatusBadge({ row }: { row: Row }) {
  if (row.retried) return <Badge tone="info">Queued to send</Badge>
  if (row.status === "dead") return <Badge tone="bad">Gave up</Badge>
  if (row.status === "sending") return <Badge tone="info">Sending</Badge>
  return <Badge tone="warn">Retrying</Badge>
}

function NotificationTable({ rows, onRetried }: { rows: Row[]; onRetried: (id: string) => void }) {
  return (
    <div className="kg-admin-table-wrap">
      <table className="kg-admin-table kg-admin-table--cards">
        <thead>
          <tr>
            <th scope="col">Message</th>
            <th scope="col">Recipient</th>
            <th scope="col">State</th>
            <th scope="col">Last error</th>
            <th scope="col">
              <span className="kg-admin-visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((n) => (
            <tr key={n.id}>
              <td data-label="Message">
                <span className="kg-admin-cell-title">{n.subject}</span>
                <span className="kg-admin-cell-sub">
                  {notificationKindLabels[n.kind] ?? n.kind} · queued {formatDateTime(n.created_at)}
                </span>
              </td>
              <td data-label="Recipient" className="kg-admin-break">
                {n.recipient}
              </td>
              <td data-label="State">
                <div>
                  <StatusBadge row={n} />
                  <span className="kg-admin-cell-sub">
                    {n.retried
                      ? "Attempts reset; sending now"
                      : `${n.attempts} attempt${n.attempts === 1 ? "" : "s"}${
                          n.status === "dead" ? "" : ` · next ${formatRelative(n.next_attempt_at)}`
                        }`}
                  </span>
                </div>
              </td>
              <td data-label="Last error" className="kg-admin-break">
                {n.last_error ? (
                  <code className="kg-admin-error-text">{n.last_error}</code>
                ) : (
                  <span className="kg-admin-muted">—</span>
                )}
              </td>
              <td className="kg-admin-cell-action">
                <RetryButton row={n} onRetried={onRetried} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function RetryButton({ row, onRetried }: { row: Row; onRetried: (id: string) => void }) {
  const toast = useToast()
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const retry = async () => {
    setPending(true)
    setError(null)
    try {
      await api.post(`/api/admin/notifications/${row.id}/retry`)
      onRetried(row.id)
      toast(`“${row.subject}” to ${row.recipient} is queued to send again.`)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  if (row.retried) return null
  return (
    <div className="kg-admin-retry">
      <button
        type="button"
        className="kg-button kg-button--small"
        onClick={retry}
        disabled={pending || row.status === "sending"}
        aria-label={`Retry “${row.subject}” to ${row.recipient}`}
      >
        {pending ? "Retrying…" : "Retry"}
      </button>
      <InlineError error={error} />
    </div>
  )
}

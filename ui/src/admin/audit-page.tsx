import { useEffect, useId, useState, type FormEvent } from "react"
import { idPrefix } from "../../../webhooks/policy/id-prefix"
import { api } from "../api"
import { Loading } from "../components/flow-status"
import { useConsole } from "./admin-console"
import { Badge, EmptyState, ErrorState, InlineError, Link, LoadMoreButton } from "./components"
import {
  deviceName,
  formatDateTime,
  navigateTo,
  shortId,
  useLoadMore,
  useResource,
  type AdminLocation,
} from "./lib"
import { apiQuery, FILTER_KEYS, filtersOf, problemsOf, type Filters } from "./audit-filters"
import {
  auditEventLabels,
  type AuditEntry,
  type AuditPage as AuditPageData,
  type UserList,
  type UserListItem,
} from "./types"

export function AuditPage({ location }: { location: AdminLocation }) {
  const filters = filtersOf(location.query)
  const problems = problemsOf(filters)
  const valid = Object.keys(problems).length === 0
  const query = apiQuery(filters)
  const key = `audit:${query}`
  const { resource, reload, setData } = useResource(key, () => {
    if (!valid) return new Promise<AuditPageData>(() => {})
    const q = new URLSearchParams(query)
    q.set("limit", "50")
    return api.get<AuditPageData>(`/api/admin/audit?${q}`)
  })
  const more = useLoadMore(key, setData)
  const items = resource.status === "ready" ? resource.data.items : []
  const people = (resource.status === "ready" && resource.data.people) || {}
  const cursor = resource.status === "ready" ? resource.data.next_cursor : null

  const loadMore = () => {
    if (!cursor) return
    const q = new URLSearchParams(query)
    q.set("limit", "50")
    q.set("cursor", cursor)
    void more.loadMore(
      () => api.get<AuditPageData>(`/api/admin/audit?${q}`),
      (data, page) => ({
        items: [...data.items, ...page.items],
        next_cursor: page.next_cursor,
        people: { ...data.people, ...page.people },
      }),
    )
  }

  const filtered = FILTER_KEYS.some((k) => filters[k])

  return (
    <section aria-labelledby="kg-audit-title">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-audit-title" className="kg-admin-section-title">
            Audit log
          </h2>
          <p className="kg-admin-muted">
            Every security change and admin action, newest first. Entries are hash-chained and can't
            be edited.
          </p>
        </div>
        {valid ? (
          <a
            className="kg-button"
            href={`/api/admin/audit.csv${query.size ? `?${query}` : ""}`}
            download
          >
            <DownloadIcon /> Export CSV
          </a>
        ) : (
          <button type="button" className="kg-button" disabled>
            <DownloadIcon /> Export CSV
          </button>
        )}
      </div>

      <AuditFilters filters={filters} problems={problems} />

      {!valid ? (
        <EmptyState title="Fix the filters to see entries" />
      ) : resource.status === "loading" ? (
        <Loading label="Loading the audit log…" />
      ) : resource.status === "error" ? (
        <ErrorState error={resource.error} onRetry={reload} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? "No entries match these filters" : "No entries yet"}>
          {filtered ? "Widen the date range or clear a filter." : undefined}
        </EmptyState>
      ) : (
        <>
          <AuditTable items={items} people={people} />
          <div className="kg-admin-more">
            <span className="kg-admin-muted">
              {items.length} {items.length === 1 ? "entry" : "entries"} shown
            </span>
            {cursor && <LoadMoreButton loading={more.loading} onClick={loadMore} />}
          </div>
          <InlineError error={more.error} />
        </>
      )}
    </section>
  )
}

function AuditFilters({
  filters,
  problems,
}: {
  filters: Filters
  problems: Partial<Record<keyof Filters, string>>
}) {
  const [draft, setDraft] = useState(filters)
  const serialized = JSON.stringify(filters)
  useEffect(() => setDraft(JSON.parse(serialized) as Filters), [serialized])
  const id = useId()
  const apply = (e: FormEvent) => {
    e.preventDefault()
    const q = new URLSearchParams()
    for (const k of FILTER_KEYS) if (draft[k].trim()) q.set(k, draft[k].trim())
    navigateTo(`/admin/audit${q.size ? `?${q}` : ""}`)
  }
  const field = (k: keyof Filters) => ({
    id: `${id}-${k}`,
    value: draft[k],
    "aria-invalid": problems[k] ? true : undefined,
    "aria-describedby": problems[k] ? `${id}-${k}-error` : undefined,
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value }),
  })
  const error = (k: keyof Filters) =>
    problems[k] && (
      <span id={`${id}-${k}-error`} className="kg-admin-field-error">
        {problems[k]}
      </span>
    )
  const events = Object.keys(auditEventLabels)
  return (
    <form
      className="kg-admin-filters kg-admin-filters--audit"
      onSubmit={apply}
      aria-label="Audit log filters"
    >
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={`${id}-event`}>
          Event
        </label>
        <select className="kg-admin-input" {...field("event")}>
          <option value="">All events</option>
          {!events.includes(draft.event) && draft.event && (
            <option value={draft.event}>{draft.event}</option>
          )}
          {events.map((e) => (
            <option key={e} value={e}>
              {auditEventLabels[e]}
            </option>
          ))}
        </select>
      </div>
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={`${id}-actor`}>
          Actor
        </label>
        <PersonInput placeholder="Who acted: name, email or id" {...field("actor")} />
        {error("actor")}
      </div>
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={`${id}-subject`}>
          Subject
        </label>
        <PersonInput placeholder="Whose account: name, email or id" {...field("subject")} />
        {error("subject")}
      </div>
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={`${id}-from`}>
          From
        </label>
        <input className="kg-admin-input" type="date" {...field("from")} />
        {error("from")}
      </div>
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={`${id}-to`}>
          To
        </label>
        <input className="kg-admin-input" type="date" {...field("to")} />
        {error("to")}
      </div>
      <div className="kg-admin-filters__buttons">
        <button type="submit" className="kg-button kg-button--primary">
          Apply
        </button>
        {FILTER_KEYS.some((k) => filters[k]) && (
          <Link href="/admin/audit" className="kg-button">
            Clear
          </Link>
        )}
      </div>
    </form>
  )
}

/**
 * A person filter: an id, the start of one (as the log shows them), or a name or email to look
 * up: the people who match are offered as choices that fill in their id.
 */
function PersonInput({
  id,
  value,
  onChange,
  placeholder,
  ...rest
}: {
  id: string
  value: string
  placeholder: string
  onChange: (e: { target: { value: string } }) => void
  "aria-invalid"?: boolean
  "aria-describedby"?: string
}) {
  const [people, setPeople] = useState<UserListItem[]>([])
  const text = value.trim()
  useEffect(() => {
    if (text.length < 2 || idPrefix(text)) return
    let live = true
    const timer = window.setTimeout(() => {
      const q = new URLSearchParams({ search: text, limit: "8" })
      api
        .get<UserList>(`/api/admin/users?${q}`)
        .then((res) => live && setPeople(res.users))
        .catch(() => live && setPeople([]))
    }, 300)
    return () => {
      live = false
      window.clearTimeout(timer)
    }
  }, [text])
  // Who a chosen id is, while the choices it came from are at hand.
  const picked = people.find((p) => p.id === text.toLowerCase()) ?? null
  const listId = `${id}-people`
  const hintId = `${id}-picked`
  return (
    <>
      <input
        id={id}
        className="kg-admin-input"
        list={listId}
        autoComplete="off"
        spellCheck={false}
        placeholder={placeholder}
        value={value}
        onChange={onChange}
        {...rest}
        aria-describedby={
          [rest["aria-describedby"], picked ? hintId : null].filter(Boolean).join(" ") || undefined
        }
      />
      <datalist id={listId} data-testid={listId}>
        {people.map((p) => (
          <option key={p.id} value={p.id} label={[p.name, p.email].filter(Boolean).join(" · ")} />
        ))}
      </datalist>
      {picked && (
        <span id={hintId} className="kg-admin-muted">
          {[picked.name, picked.email].filter(Boolean).join(" · ")}
        </span>
      )}
    </>
  )
}

type People = NonNullable<AuditPageData["people"]>

/** A person in the log: "you", their name or email when Kratos still knows them, else the id. */
function Person({
  id,
  type,
  people,
}: {
  id: string | null
  type?: AuditEntry["actor_type"]
  people: People
}) {
  const { viewer } = useConsole()
  if (type === "system") return <span className="kg-admin-muted">System</span>
  if (!id) return <span className="kg-admin-muted">—</span>
  const known = people[id]
  const label = id === viewer.id ? "you" : (known?.name ?? known?.email ?? null)
  return (
    <Link
      href={`/admin/users/${id}`}
      title={known?.email ? `${known.email} (${id})` : id}
      className={label ? undefined : "kg-admin-mono"}
    >
      {label ?? shortId(id)}
    </Link>
  )
}

function eventTone(event: string) {
  if (
    event === "admin.2fa_reset" ||
    event === "admin.user_deactivated" ||
    event === "auth.2fa_disabled"
  )
    return "bad" as const
  if (event.startsWith("admin.") || event === "policy.updated") return "info" as const
  return "neutral" as const
}

function AuditTable({ items, people }: { items: AuditEntry[]; people: People }) {
  return (
    <div className="kg-admin-table-wrap">
      <table className="kg-admin-table kg-admin-table--cards kg-admin-table--audit">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Actor</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td data-label="When" className="kg-admin-nowrap">
                <time dateTime={e.occurred_at}>{formatDateTime(e.occurred_at)}</time>
              </td>
              <td data-label="Event">
                <div>
                  <Badge tone={eventTone(e.event)}>{auditEventLabels[e.event] ?? e.event}</Badge>
                  <span className="kg-admin-event-code">{e.event}</span>
                </div>
              </td>
              <td data-label="Actor">
                <Person id={e.actor_id} type={e.actor_type} people={people} />
              </td>
              <td data-label="Subject">
                <Person id={e.subject_id} people={people} />
              </td>
              <td data-label="Details">
                <details className="kg-admin-disclosure">
                  <summary>
                    {[e.ip, e.user_agent ? deviceName(e.user_agent) : null]
                      .filter(Boolean)
                      .join(" · ") || "Show"}
                  </summary>
                  <dl className="kg-admin-kv">
                    {e.request_id && (
                      <>
                        <dt>Request</dt>
                        <dd>
                          <code>{e.request_id}</code>
                        </dd>
                      </>
                    )}
                    {e.flow_id && (
                      <>
                        <dt>Kratos flow</dt>
                        <dd>
                          <code>{e.flow_id}</code>
                        </dd>
                      </>
                    )}
                    {e.details && Object.keys(e.details).length > 0 && (
                      <>
                        <dt>Change</dt>
                        <dd>
                          <pre>{JSON.stringify(e.details, null, 2)}</pre>
                        </dd>
                      </>
                    )}
                    {e.posture && Object.keys(e.posture).length > 0 && (
                      <>
                        <dt>Posture after</dt>
                        <dd>
                          <pre>{JSON.stringify(e.posture, null, 2)}</pre>
                        </dd>
                      </>
                    )}
                  </dl>
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function DownloadIcon() {
  return (
    <svg className="kg-admin-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <path d="M10 3v9m0 0l-3.5-3.5M10 12l3.5-3.5M4 15h12" />
    </svg>
  )
}

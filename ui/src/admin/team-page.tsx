import { useEffect, useId, useState, type FormEvent } from "react"
import { api, type ApiError } from "../api"
import { Loading } from "../components/flow-status"
import { useConsole } from "./admin-console"
import {
  Badge,
  CopyField,
  Dialog,
  EmptyState,
  ErrorState,
  InlineError,
  Link,
  LoadMoreButton,
} from "./components"
import {
  asApiError,
  formatDate,
  formatDateTime,
  navigateTo,
  useLoadMore,
  useResource,
  type AdminLocation,
} from "./lib"
import {
  roleLabels,
  roles,
  type OrgPolicy,
  type Provisioned,
  type Role,
  type UserList,
  type UserListItem,
} from "./types"
import { requires2fa as twoFactorRule } from "../../../webhooks/policy/roles"

const PAGE_SIZE = 25

function isRole(value: string | null): value is Role {
  return value !== null && (roles as readonly string[]).includes(value)
}

/** Whether policy asks this role for a second factor: the service's own rule. */
export function requires2fa(policy: OrgPolicy, role: Role): boolean {
  const rule = {
    require2faForEveryone: policy.require_2fa_for_everyone,
    rolesRequiring2fa: policy.roles_requiring_2fa,
  }
  return twoFactorRule(rule, role).required
}

function usersUrl(search: string, role: Role | null, offset: number) {
  const q = new URLSearchParams()
  if (search) q.set("search", search)
  if (role) q.set("role", role)
  q.set("offset", String(offset))
  q.set("limit", String(PAGE_SIZE))
  return `/api/admin/users?${q}`
}

export function TeamPage({ location }: { location: AdminLocation }) {
  const search = location.query.get("search")?.trim() ?? ""
  const roleParam = location.query.get("role")
  const role = isRole(roleParam) ? roleParam : null
  const key = `users:${search}:${role ?? ""}`
  const { resource, reload, setData } = useResource(key, () =>
    api.get<UserList>(usersUrl(search, role, 0)),
  )
  const more = useLoadMore(key, setData)
  const [adding, setAdding] = useState(false)

  const first = resource.status === "ready" ? resource.data : null
  const users = first?.users ?? []
  const nextOffset = first?.next_offset ?? null

  const loadMore = () => {
    if (nextOffset === null) return
    void more.loadMore(
      () => api.get<UserList>(usersUrl(search, role, nextOffset)),
      (data, page) => ({
        ...data,
        users: [...data.users, ...page.users],
        next_offset: page.next_offset,
      }),
    )
  }

  const setFilters = (next: { search?: string; role?: Role | null }) => {
    const q = new URLSearchParams()
    const s = next.search ?? search
    const r = next.role === undefined ? role : next.role
    if (s) q.set("search", s)
    if (r) q.set("role", r)
    const qs = q.toString()
    navigateTo(`/admin/team${qs ? `?${qs}` : ""}`, { replace: true })
  }

  return (
    <section aria-labelledby="kg-team-title">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-team-title" className="kg-admin-section-title">
            Team
          </h2>
          <p className="kg-admin-muted">
            {first
              ? `${first.total} ${first.total === 1 ? "person" : "people"}${search || role ? " match" : ""}`
              : "Everyone with an account"}
          </p>
        </div>
        <button
          type="button"
          className="kg-button kg-button--primary"
          onClick={() => setAdding(true)}
        >
          Add user
        </button>
      </div>

      <TeamFilters
        search={search}
        role={role}
        onSearch={(s) => setFilters({ search: s })}
        onRole={(r) => setFilters({ role: r })}
      />

      {resource.status === "loading" && <Loading label="Loading people…" />}
      {resource.status === "error" && <ErrorState error={resource.error} onRetry={reload} />}
      {resource.status === "ready" &&
        (users.length === 0 ? (
          <EmptyState title={search || role ? "No one matches these filters" : "No people yet"}>
            {search || role
              ? "Try another name or email, or clear the role filter."
              : "Add someone with “Add user”; they get a one-time code to sign in."}
          </EmptyState>
        ) : (
          <>
            <PeopleTable users={users} />
            <div className="kg-admin-more">
              <span className="kg-admin-muted">
                Showing {users.length} of {first?.total ?? users.length}
              </span>
              {nextOffset !== null && <LoadMoreButton loading={more.loading} onClick={loadMore} />}
            </div>
            <InlineError error={more.error} />
          </>
        ))}

      <ProvisionDialog
        open={adding}
        onClose={(created) => {
          setAdding(false)
          if (created) reload()
        }}
      />
    </section>
  )
}

function TeamFilters({
  search,
  role,
  onSearch,
  onRole,
}: {
  search: string
  role: Role | null
  onSearch: (s: string) => void
  onRole: (r: Role | null) => void
}) {
  const searchId = useId()
  const roleId = useId()
  const [text, setText] = useState(search)
  useEffect(() => setText(search), [search])
  // Typing filters after a short pause; Enter filters at once.
  useEffect(() => {
    if (text.trim() === search) return
    const timer = window.setTimeout(() => onSearch(text.trim()), 350)
    return () => window.clearTimeout(timer)
  }, [text, search, onSearch])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onSearch(text.trim())
  }
  return (
    <form className="kg-admin-filters" role="search" onSubmit={submit}>
      <div className="kg-admin-field kg-admin-field--grow">
        <label className="kg-admin-label" htmlFor={searchId}>
          Search
        </label>
        <input
          id={searchId}
          className="kg-admin-input"
          type="search"
          placeholder="Name or email"
          value={text}
          maxLength={200}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      <div className="kg-admin-field">
        <label className="kg-admin-label" htmlFor={roleId}>
          Role
        </label>
        <select
          id={roleId}
          className="kg-admin-input"
          value={role ?? ""}
          onChange={(e) => onRole(isRole(e.target.value) ? e.target.value : null)}
        >
          <option value="">All roles</option>
          {roles.map((r) => (
            <option key={r} value={r}>
              {roleLabels[r]}
            </option>
          ))}
        </select>
      </div>
    </form>
  )
}

export function TwoFactorBadges({
  methods,
  required,
}: {
  methods: string[] | undefined
  required: boolean
}) {
  if (!methods) return <span className="kg-admin-muted">Unknown</span>
  if (methods.length === 0) {
    return required ? <Badge tone="bad">Missing · required</Badge> : <Badge>None</Badge>
  }
  return (
    <span className="kg-admin-badges">
      {methods.includes("totp") && <Badge tone="good">Authenticator app</Badge>}
      {methods.includes("webauthn") && <Badge tone="good">Security key</Badge>}
    </span>
  )
}

function PeopleTable({ users }: { users: UserListItem[] }) {
  const { policy, viewer } = useConsole()
  return (
    <div className="kg-admin-table-wrap">
      <table className="kg-admin-table kg-admin-table--cards">
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Role</th>
            <th scope="col">Two-factor</th>
            <th scope="col">Status</th>
            <th scope="col">Joined</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td data-label="Person">
                <Link href={`/admin/users/${u.id}`} className="kg-admin-person">
                  <span className="kg-admin-avatar" aria-hidden="true">
                    {initials(u)}
                  </span>
                  <span className="kg-admin-person__text">
                    <span className="kg-admin-person__name">
                      {u.name ?? u.email ?? u.id}
                      {u.id === viewer.id && <span className="kg-admin-you"> (you)</span>}
                    </span>
                    {u.name && u.email && <span className="kg-admin-person__email">{u.email}</span>}
                  </span>
                </Link>
              </td>
              <td data-label="Role">
                <RoleBadge role={u.role} />
              </td>
              <td data-label="Two-factor">
                <TwoFactorBadges
                  methods={u.second_factors}
                  required={requires2fa(policy, u.role)}
                />
              </td>
              <td data-label="Status">
                <span className="kg-admin-badges">
                  {u.state === "inactive" ? (
                    <Badge tone="warn">Deactivated</Badge>
                  ) : (
                    <Badge tone="neutral">Active</Badge>
                  )}
                  {u.force_password_change && <Badge tone="info">Password change due</Badge>}
                </span>
              </td>
              <td
                data-label="Joined"
                className="kg-admin-nowrap"
                title={formatDateTime(u.created_at)}
              >
                {formatDate(u.created_at)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function RoleBadge({ role }: { role: Role }) {
  return (
    <span className={`kg-admin-role kg-admin-role--${role.replace("_", "-")}`}>
      {roleLabels[role]}
    </span>
  )
}

function initials(u: { name: string | null; email: string | null }): string {
  const source = u.name ?? u.email ?? "?"
  const parts = source.split(/[\s@._-]+/).filter(Boolean)
  return ((parts[0]?.[0] ?? "?") + (u.name ? (parts[1]?.[0] ?? "") : "")).toUpperCase()
}

// ---------- provisioning ----------

function ProvisionDialog({
  open,
  onClose,
}: {
  open: boolean
  onClose: (created: boolean) => void
}) {
  const { viewer } = useConsole()
  const ids = { email: useId(), first: useId(), last: useId(), role: useId() }
  const [form, setForm] = useState({ email: "", first: "", last: "", role: "member" as Role })
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [result, setResult] = useState<Provisioned | null>(null)

  useEffect(() => {
    if (!open) {
      // The one-time code leaves memory with the dialog: it is never shown twice.
      setForm({ email: "", first: "", last: "", role: "member" })
      setError(null)
      setResult(null)
      setPending(false)
    }
  }, [open])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setPending(true)
    setError(null)
    try {
      const created = await api.post<Provisioned>("/api/admin/users", {
        email: form.email.trim(),
        ...(form.first.trim() ? { first_name: form.first.trim() } : {}),
        ...(form.last.trim() ? { last_name: form.last.trim() } : {}),
        role: form.role,
      })
      setResult(created)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }

  const superAdmin = viewer.role === "super_admin"

  return (
    <Dialog
      open={open}
      onClose={() => onClose(result !== null)}
      title={result ? "Account created" : "Add user"}
      wide
    >
      {result ? (
        <div className="kg-admin-dialog__body">
          <p>
            <strong>{result.email}</strong> can now sign in with this one-time recovery code or link
            and set their own password. Hand it over in person or through a channel you trust.
          </p>
          <div className="kg-admin-notice kg-admin-notice--warn" role="note">
            This is the only time the code is shown. It works once and expires{" "}
            {result.expires_at ? formatDateTime(result.expires_at) : "in 24 hours"}.
          </div>
          <CopyField label="One-time recovery code" value={result.recovery_code} />
          <CopyField label="Recovery link" value={result.recovery_link} />
          <div className="kg-admin-dialog__actions">
            <Link href={`/admin/users/${result.id}`} className="kg-button">
              Open their page
            </Link>
            <button
              type="button"
              className="kg-button kg-button--primary"
              onClick={() => onClose(true)}
            >
              Done
            </button>
          </div>
        </div>
      ) : (
        <form className="kg-admin-dialog__body" onSubmit={submit} noValidate={false}>
          <p className="kg-admin-muted">
            Creates the account and a one-time code (valid 24 hours) they use to sign in and set a
            password.
          </p>
          <div className="kg-admin-field">
            <label className="kg-admin-label" htmlFor={ids.email}>
              Work email
            </label>
            <input
              id={ids.email}
              className="kg-admin-input"
              type="email"
              required
              maxLength={320}
              autoComplete="off"
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.target.value })}
            />
          </div>
          <div className="kg-admin-field-row">
            <div className="kg-admin-field kg-admin-field--grow">
              <label className="kg-admin-label" htmlFor={ids.first}>
                First name <span className="kg-admin-optional">(optional)</span>
              </label>
              <input
                id={ids.first}
                className="kg-admin-input"
                maxLength={100}
                autoComplete="off"
                value={form.first}
                onChange={(e) => setForm({ ...form, first: e.target.value })}
              />
            </div>
            <div className="kg-admin-field kg-admin-field--grow">
              <label className="kg-admin-label" htmlFor={ids.last}>
                Last name <span className="kg-admin-optional">(optional)</span>
              </label>
              <input
                id={ids.last}
                className="kg-admin-input"
                maxLength={100}
                autoComplete="off"
                value={form.last}
                onChange={(e) => setForm({ ...form, last: e.target.value })}
              />
            </div>
          </div>
          <div className="kg-admin-field">
            <label className="kg-admin-label" htmlFor={ids.role}>
              Role
            </label>
            <select
              id={ids.role}
              className="kg-admin-input"
              value={form.role}
              aria-describedby={superAdmin ? undefined : `${ids.role}-hint`}
              onChange={(e) => setForm({ ...form, role: e.target.value as Role })}
            >
              {roles.map((r) => (
                <option key={r} value={r} disabled={r !== "member" && !superAdmin}>
                  {roleLabels[r]}
                </option>
              ))}
            </select>
            {!superAdmin && (
              <span id={`${ids.role}-hint`} className="kg-admin-hint">
                Only a super admin can create admins.
              </span>
            )}
          </div>
          <InlineError error={error} />
          <div className="kg-admin-dialog__actions">
            <button type="button" className="kg-button" onClick={() => onClose(false)}>
              Cancel
            </button>
            <button type="submit" className="kg-button kg-button--primary" disabled={pending}>
              {pending ? "Creating…" : "Create account"}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  )
}

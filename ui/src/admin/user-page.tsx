import { ApiKeysCard } from "../security/api-keys-card"
import { ReverifyDialog, type Retry } from "../security/reverify-dialog"
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react"
import { api, type ApiError } from "../api"
import { Loading } from "../components/flow-status"
import { useConsole } from "./admin-console"
import {
  Badge,
  ConfirmDialog,
  EmptyState,
  ErrorState,
  InlineError,
  Link,
  useToast,
} from "./components"
import {
  asApiError,
  deviceName,
  formatDate,
  formatDateTime,
  formatRelative,
  UUID_PATTERN,
  useResource,
} from "./lib"
import { requires2fa, RoleBadge, TwoFactorBadges } from "./team-page"
import { roleLabels, roles, type Role, type UserDetail, type UserList } from "./types"

type Action = "force" | "reset2fa" | "revoke" | "deactivate" | "reactivate"

export function UserPage({ userId }: { userId: string }) {
  const valid = UUID_PATTERN.test(userId)
  const { resource, reload } = useResource(`user:${userId}`, () =>
    valid
      ? api.get<UserDetail>(`/api/admin/users/${encodeURIComponent(userId)}`)
      : Promise.reject(asApiError(new Error("This address doesn't name a person."))),
  )

  return (
    <div className="kg-admin-user">
      <Link href="/admin/team" className="kg-admin-back">
        <span aria-hidden="true">←</span> Team
      </Link>
      {resource.status === "loading" && <Loading label="Loading this person…" />}
      {resource.status === "error" &&
        (resource.error.status === 404 ? (
          <section className="kg-admin-panel">
            <h2 className="kg-admin-panel__title">No such person</h2>
            <p className="kg-admin-muted">
              They may have been removed. <Link href="/admin/team">Back to the team list</Link>.
            </p>
          </section>
        ) : (
          <ErrorState
            error={resource.error}
            onRetry={valid ? reload : undefined}
            title="This person couldn't load"
          />
        ))}
      {resource.status === "ready" && <UserView user={resource.data} reload={reload} />}
    </div>
  )
}

/** Who is mailed about a reset or a deactivation, as the service will send it. */
export function whoIsTold({ notified }: Pick<UserDetail, "notified">): string {
  if (notified.manager && notified.security_team)
    return "Their manager and the security team are notified."
  if (notified.manager) return "Their manager is notified."
  if (notified.security_team) return "The security team is notified."
  return "No one else is notified: they have no manager and no security team address is set."
}

function UserView({ user, reload }: { user: UserDetail; reload: () => void }) {
  const { viewer, policy } = useConsole()
  const toast = useToast()
  const [action, setAction] = useState<Action | null>(null)
  const [retry, setRetry] = useState<Retry | null>(null)
  const self = user.id === viewer.id
  const outranked = user.role !== "member" && viewer.role !== "super_admin"
  const name = user.email ?? user.id
  const required = requires2fa(policy, user.role)
  const methods = user.posture.methods.filter((m) => m === "totp" || m === "webauthn")

  const run = (path: string, done: string) => async () => {
    try {
      await api.post(`/api/admin/users/${user.id}/${path}`)
    } catch (err) {
      throw asApiError(err)
    }
    toast(done)
    reload()
  }

  const restricted = self
    ? "You can't do this to your own account."
    : outranked
      ? "Only a super admin can do this to an admin."
      : null

  return (
    <>
      <header className="kg-admin-panel kg-admin-profile">
        <span className="kg-admin-avatar kg-admin-avatar--large" aria-hidden="true">
          {(user.email ?? "?").charAt(0).toUpperCase()}
        </span>
        <div className="kg-admin-profile__text">
          <h2 className="kg-admin-profile__name">
            {name}
            {self && <span className="kg-admin-you"> (you)</span>}
          </h2>
          <div className="kg-admin-badges">
            <RoleBadge role={user.role} />
            {user.state === "inactive" ? (
              <Badge tone="warn">Deactivated</Badge>
            ) : (
              <Badge tone="good">Active</Badge>
            )}
            {user.force_password_change?.required && <Badge tone="info">Password change due</Badge>}
          </div>
          <dl className="kg-admin-meta">
            <div>
              <dt>Joined</dt>
              <dd>{formatDate(user.created_at)}</dd>
            </div>
            <div>
              <dt>User id</dt>
              <dd>
                <code>{user.id}</code>
              </dd>
            </div>
            <div>
              <dt>History</dt>
              <dd>
                <Link href={`/admin/audit?subject=${user.id}`}>Audit entries</Link>
              </dd>
            </div>
          </dl>
        </div>
      </header>

      <div className="kg-admin-grid">
        <div className="kg-admin-stack">
          <Panel title="Access">
            <RoleForm user={user} self={self} onSaved={reload} />
            <ManagerForm user={user} onSaved={reload} />
          </Panel>

          <Panel title="Sign-in security">
            <dl className="kg-admin-facts">
              <div>
                <dt>Two-factor</dt>
                <dd>
                  <TwoFactorBadges methods={methods} required={required} />
                  {required && methods.length === 0 && (
                    <span className="kg-admin-hint">
                      Policy requires a second factor for {roleLabels[user.role].toLowerCase()}s.
                    </span>
                  )}
                </dd>
              </div>
              <div>
                <dt>Authenticator app</dt>
                <dd>
                  {user.totp_enrolled_at
                    ? `Added ${formatDate(user.totp_enrolled_at)}`
                    : "Not set up"}
                </dd>
              </div>
              <div>
                <dt>Security keys</dt>
                <dd>
                  {user.security_keys.length === 0 ? (
                    "None"
                  ) : (
                    <ul className="kg-admin-plain-list">
                      {user.security_keys.map((k, i) => (
                        <li key={`${k.name}-${i}`}>
                          {k.name || "Unnamed key"}
                          <span className="kg-admin-muted">
                            {" "}
                            · {k.passwordless ? "passwordless" : "2FA"} · added{" "}
                            {formatDate(k.added_at)}
                          </span>
                        </li>
                      ))}
                    </ul>
                  )}
                </dd>
              </div>
              <div>
                <dt>Passkeys</dt>
                <dd>{user.passkeys === 0 ? "None" : user.passkeys}</dd>
              </div>
              <div>
                <dt>Recovery codes</dt>
                <dd>
                  {user.posture.recovery_codes_left > 0
                    ? `${user.posture.recovery_codes_left} left`
                    : "None"}
                </dd>
              </div>
              <div>
                <dt>Password change</dt>
                <dd>
                  {user.force_password_change?.required
                    ? `Required since ${formatDateTime(user.force_password_change.set_at)}`
                    : user.force_password_change?.cleared_at
                      ? `Last required change done ${formatDate(user.force_password_change.cleared_at)}`
                      : "Not required"}
                </dd>
              </div>
            </dl>
          </Panel>
        </div>

        <Panel title="Actions" className="kg-admin-actions-panel">
          <ActionRow
            title="Require a password change"
            text="They must choose a new password before using any app."
            button={
              <button
                type="button"
                className="kg-button"
                onClick={() => setAction("force")}
                disabled={user.force_password_change?.required === true}
              >
                {user.force_password_change?.required ? "Already required" : "Force change"}
              </button>
            }
          />
          <ActionRow
            title="Reset two-factor"
            text="Removes their authenticator app, recovery codes and security keys, and signs them out."
            note={restricted}
            button={
              <button
                type="button"
                className="kg-button kg-admin-button--danger-outline"
                onClick={() => setAction("reset2fa")}
                disabled={restricted !== null}
              >
                Reset 2FA
              </button>
            }
          />
          <ActionRow
            title="Sign out everywhere"
            text={`Ends all ${user.sessions.length} active session${user.sessions.length === 1 ? "" : "s"}.`}
            button={
              <button
                type="button"
                className="kg-button"
                onClick={() => setAction("revoke")}
                disabled={user.sessions.length === 0}
              >
                Revoke sessions
              </button>
            }
          />
          {user.state === "inactive" ? (
            <ActionRow
              title="Reactivate"
              text="They can sign in again."
              note={restricted}
              button={
                <button
                  type="button"
                  className="kg-button"
                  onClick={() => setAction("reactivate")}
                  disabled={restricted !== null}
                >
                  Reactivate
                </button>
              }
            />
          ) : (
            <ActionRow
              title="Deactivate"
              text="Blocks sign-in and ends every session. Reversible."
              note={restricted}
              button={
                <button
                  type="button"
                  className="kg-button kg-admin-button--danger-outline"
                  onClick={() => setAction("deactivate")}
                  disabled={restricted !== null}
                >
                  Deactivate
                </button>
              }
            />
          )}
        </Panel>
      </div>

      <SessionsPanel user={user} onRevokeAll={() => setAction("revoke")} />

      {!outranked && (
        <ApiKeysCard
          basePath={`/api/admin/users/${user.id}/api-keys`}
          owner={self ? "you" : name}
          onRefreshRequired={(r) => setRetry(() => r)}
        />
      )}
      <ReverifyDialog
        retry={retry}
        onClose={() => setRetry(null)}
        section="kg-api-keys-title"
        page={`/admin/users/${encodeURIComponent(user.id)}`}
      />

      <ConfirmDialog
        open={action === "force"}
        title="Require a password change?"
        confirmLabel="Require change"
        onConfirm={run(
          "force-password-change",
          `${name} must choose a new password at their next sign-in.`,
        )}
        onClose={() => setAction(null)}
      >
        <p>
          <strong>{name}</strong> will be sent to choose a new password before they can use any app.
          Their sessions stay signed in.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={action === "reset2fa"}
        title="Reset two-factor authentication?"
        confirmLabel="Reset 2FA and sign out"
        danger
        onConfirm={run("reset-2fa", `Two-factor for ${name} was reset and their sessions ended.`)}
        onClose={() => setAction(null)}
      >
        <p>
          This removes <strong>{name}</strong>'s authenticator app, recovery codes and security
          keys, and <strong>revokes all their sessions</strong>. {whoIsTold(user)}
        </p>
        {required && (
          <p>
            Policy requires them to set up two-factor again
            {policy.mfa_grace_period_hours > 0
              ? ` within ${policy.mfa_grace_period_hours} hours.`
              : " when they next sign in."}
          </p>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={action === "revoke"}
        title="Sign them out everywhere?"
        confirmLabel="Revoke all sessions"
        danger
        onConfirm={run("revoke-sessions", `All sessions of ${name} were revoked.`)}
        onClose={() => setAction(null)}
      >
        <p>
          <strong>{name}</strong> is signed out on every device and has to sign in again.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={action === "deactivate"}
        title="Deactivate this account?"
        confirmLabel="Deactivate"
        danger
        onConfirm={run("deactivate", `${name} was deactivated.`)}
        onClose={() => setAction(null)}
      >
        <p>
          <strong>{name}</strong> can't sign in until reactivated, and every session ends now.{" "}
          {whoIsTold(user)}
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={action === "reactivate"}
        title="Reactivate this account?"
        confirmLabel="Reactivate"
        onConfirm={run("reactivate", `${name} can sign in again.`)}
        onClose={() => setAction(null)}
      >
        <p>
          <strong>{name}</strong> will be able to sign in again with their existing credentials.
        </p>
      </ConfirmDialog>
    </>
  )
}

function Panel({
  title,
  children,
  className,
}: {
  title: string
  children: ReactNode
  className?: string
}) {
  const id = useId()
  return (
    <section className={`kg-admin-panel${className ? ` ${className}` : ""}`} aria-labelledby={id}>
      <h3 id={id} className="kg-admin-panel__title">
        {title}
      </h3>
      {children}
    </section>
  )
}

function ActionRow({
  title,
  text,
  note,
  button,
}: {
  title: string
  text: string
  note?: string | null
  button: ReactNode
}) {
  return (
    <div className="kg-admin-action">
      <div className="kg-admin-action__text">
        <p className="kg-admin-action__title">{title}</p>
        <p className="kg-admin-muted">{text}</p>
        {note && <p className="kg-admin-hint">{note}</p>}
      </div>
      {button}
    </div>
  )
}

function RoleForm({
  user,
  self,
  onSaved,
}: {
  user: UserDetail
  self: boolean
  onSaved: () => void
}) {
  const { viewer } = useConsole()
  const toast = useToast()
  const id = useId()
  const [role, setRole] = useState<Role>(user.role)
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  useEffect(() => setRole(user.role), [user.role])
  const superAdmin = viewer.role === "super_admin"
  // Admin roles are a super admin's to grant and remove.
  const locked = self || (!superAdmin && user.role !== "member")
  const save = async (e: FormEvent) => {
    e.preventDefault()
    setPending(true)
    setError(null)
    try {
      await api.put(`/api/admin/users/${user.id}/role`, { role })
      toast(`Role of ${user.email ?? user.id} is now ${roleLabels[role]}.`)
      onSaved()
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  return (
    <form className="kg-admin-form-block" onSubmit={save}>
      <label className="kg-admin-label" htmlFor={id}>
        Role
      </label>
      <div className="kg-admin-inline">
        <select
          id={id}
          className="kg-admin-input"
          value={role}
          disabled={locked || pending}
          aria-describedby={locked || !superAdmin ? `${id}-hint` : undefined}
          onChange={(e) => setRole(e.target.value as Role)}
        >
          {roles.map((r) => (
            <option key={r} value={r} disabled={!superAdmin && r !== "member" && r !== user.role}>
              {roleLabels[r]}
            </option>
          ))}
        </select>
        <button
          type="submit"
          className="kg-button kg-button--primary"
          disabled={locked || pending || role === user.role}
        >
          {pending ? "Saving…" : "Save role"}
        </button>
      </div>
      {(locked || !superAdmin) && (
        <span id={`${id}-hint`} className="kg-admin-hint">
          {self
            ? "Nobody changes their own role."
            : "Only a super admin grants or removes admin roles."}
        </span>
      )}
      <InlineError error={error} />
    </form>
  )
}

function ManagerForm({ user, onSaved }: { user: UserDetail; onSaved: () => void }) {
  const toast = useToast()
  const id = useId()
  const [editing, setEditing] = useState(false)
  const [query, setQuery] = useState("")
  const [results, setResults] = useState<UserList["users"] | null>(null)
  const [searching, setSearching] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)

  const search = async (e: FormEvent) => {
    e.preventDefault()
    if (!query.trim()) return
    setSearching(true)
    setError(null)
    try {
      const q = new URLSearchParams({ search: query.trim(), limit: "8" })
      const list = await api.get<UserList>(`/api/admin/users?${q}`)
      setResults(list.users.filter((u) => u.id !== user.id))
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setSearching(false)
    }
  }

  const setManager = async (managerId: string | null, label: string) => {
    setError(null)
    try {
      await api.put(`/api/admin/users/${user.id}/manager`, { manager_id: managerId })
      toast(managerId ? `Manager set to ${label}.` : "Manager removed.")
      setEditing(false)
      setResults(null)
      setQuery("")
      onSaved()
    } catch (err) {
      setError(asApiError(err))
    }
  }

  return (
    <div className="kg-admin-form-block">
      <span className="kg-admin-label" id={`${id}-label`}>
        Manager
      </span>
      <div className="kg-admin-inline kg-admin-inline--between">
        <span aria-labelledby={`${id}-label`}>
          {user.manager ? (
            <Link href={`/admin/users/${user.manager.id}`}>
              {user.manager.email ?? user.manager.id}
            </Link>
          ) : (
            <span className="kg-admin-muted">No manager</span>
          )}
        </span>
        <span className="kg-admin-inline">
          {user.manager && !editing && (
            <button
              type="button"
              className="kg-button kg-button--small"
              onClick={() => setManager(null, "")}
            >
              Remove
            </button>
          )}
          <button
            type="button"
            className="kg-button kg-button--small"
            aria-expanded={editing}
            onClick={() => setEditing(!editing)}
          >
            {editing ? "Cancel" : user.manager ? "Change" : "Set manager"}
          </button>
        </span>
      </div>
      {editing && (
        <div className="kg-admin-picker">
          <form className="kg-admin-inline" onSubmit={search} role="search">
            <label className="kg-admin-visually-hidden" htmlFor={id}>
              Find a manager by name or email
            </label>
            <input
              id={id}
              className="kg-admin-input"
              type="search"
              placeholder="Find by name or email"
              value={query}
              maxLength={200}
              autoFocus
              onChange={(e) => setQuery(e.target.value)}
            />
            <button type="submit" className="kg-button" disabled={searching}>
              {searching ? "Finding…" : "Find"}
            </button>
          </form>
          {results &&
            (results.length === 0 ? (
              <p className="kg-admin-muted">No one matches.</p>
            ) : (
              <ul className="kg-admin-picker__list">
                {results.map((r) => (
                  <li key={r.id}>
                    <span className="kg-admin-picker__who">
                      {r.name ? `${r.name} · ` : ""}
                      {r.email}
                    </span>
                    <button
                      type="button"
                      className="kg-button kg-button--small"
                      onClick={() => setManager(r.id, r.email ?? r.id)}
                    >
                      Choose
                    </button>
                  </li>
                ))}
              </ul>
            ))}
        </div>
      )}
      <InlineError error={error} />
    </div>
  )
}

function SessionsPanel({ user, onRevokeAll }: { user: UserDetail; onRevokeAll: () => void }) {
  return (
    <Panel title={`Active sessions (${user.sessions.length})`}>
      {user.sessions.length === 0 ? (
        <EmptyState title="Not signed in anywhere" />
      ) : (
        <>
          <ul className="kg-admin-sessions">
            {user.sessions.map((s) => {
              const device = s.devices[0]
              return (
                <li key={s.id} className="kg-admin-session">
                  <div>
                    <p className="kg-admin-session__device">{deviceName(device?.user_agent)}</p>
                    <p className="kg-admin-muted">
                      {device?.ip ? `${device.ip} · ` : ""}signed in{" "}
                      <time
                        dateTime={s.authenticated_at}
                        title={formatDateTime(s.authenticated_at)}
                      >
                        {formatRelative(s.authenticated_at)}
                      </time>{" "}
                      · expires {formatDate(s.expires_at)}
                    </p>
                  </div>
                  <Badge tone={s.aal === "aal2" ? "good" : "neutral"}>
                    {s.aal === "aal2" ? "Two-factor" : "Password only"}
                  </Badge>
                </li>
              )
            })}
          </ul>
          <div className="kg-admin-actions">
            <button
              type="button"
              className="kg-button kg-admin-button--danger-outline"
              onClick={onRevokeAll}
            >
              Revoke all sessions
            </button>
          </div>
        </>
      )}
    </Panel>
  )
}

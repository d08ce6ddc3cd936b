import { useState } from "react"
import { api } from "../api"
import { Loading } from "../components/flow-status"
import { useConsole } from "./admin-console"
import {
  Badge,
  ConfirmDialog,
  EmptyState,
  ErrorState,
  Link,
  useToast,
  type Tone,
} from "./components"
import { formatDateTime, formatRelative, useResource, type AdminLocation } from "./lib"
import { roleLabels, type RecoveryQueue, type RecoveryQueueItem } from "./types"

type StatusFilter = "open" | "approved" | "denied" | "expired" | "all"

const filters: { id: StatusFilter; label: string }[] = [
  { id: "open", label: "Waiting" },
  { id: "approved", label: "Approved" },
  { id: "denied", label: "Denied" },
  { id: "expired", label: "Expired" },
  { id: "all", label: "All" },
]

const statusBadge: Record<RecoveryQueueItem["status"], { tone: Tone; label: string }> = {
  verifying: { tone: "neutral", label: "Verifying" },
  open: { tone: "warn", label: "Waiting for a decision" },
  approved: { tone: "good", label: "Approved" },
  denied: { tone: "bad", label: "Denied" },
  expired: { tone: "neutral", label: "Expired" },
}

const methodLabels: Record<string, string> = {
  password: "Password",
  totp: "Authenticator app",
  webauthn: "Security key",
  passkey: "Passkey",
  lookup_secret: "Recovery codes",
}

/** `/admin/recovery`: lost-device requests, to approve (the 2FA reset) or deny. */
export function RecoveryRequestsPage({ location }: { location: AdminLocation }) {
  const param = location.query.get("status")
  const status: StatusFilter = filters.some((f) => f.id === param)
    ? (param as StatusFilter)
    : "open"
  const key = `recovery:${status}`
  const { resource, reload, setData } = useResource(key, () =>
    api.get<RecoveryQueue>(`/api/admin/recovery-requests?status=${status}`),
  )
  const replace = (item: RecoveryQueueItem) =>
    setData((d) => ({ ...d, items: d.items.map((i) => (i.id === item.id ? item : i)) }))

  return (
    <section aria-labelledby="kg-recovery-title" data-testid="kg-recovery-queue">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-recovery-title" className="kg-admin-section-title">
            Lost-device requests
          </h2>
          <p className="kg-admin-muted">
            People who lost their second factor ask here, signed in with their password and a code
            mailed to their verified address. Approving removes their second factors (as Reset 2FA
            does) and signs out their other sessions; they then set up a new one.
            {resource.status === "ready" && resource.data.four_eyes
              ? " An administrator's request needs two approvals from different super admins."
              : ""}
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
            href={f.id === "open" ? "/admin/recovery" : `/admin/recovery?status=${f.id}`}
            className="kg-admin-segmented__item"
            aria-current={status === f.id ? "page" : undefined}
          >
            {f.label}
          </Link>
        ))}
      </nav>

      {resource.status === "loading" && <Loading label="Loading requests…" />}
      {resource.status === "error" && <ErrorState error={resource.error} onRetry={reload} />}
      {resource.status === "ready" &&
        (resource.data.items.length === 0 ? (
          <EmptyState title={status === "open" ? "No requests waiting" : "No requests here"}>
            {status === "open"
              ? "When someone asks for a reset from the sign-in page, it appears here and the security team is mailed."
              : "Nothing in this view."}
          </EmptyState>
        ) : (
          <ul className="kg-recovery-list">
            {resource.data.items.map((item) => (
              <li key={item.id}>
                <RequestCard item={item} onChanged={replace} />
              </li>
            ))}
          </ul>
        ))}
    </section>
  )
}

function RequestCard({
  item,
  onChanged,
}: {
  item: RecoveryQueueItem
  onChanged: (item: RecoveryQueueItem) => void
}) {
  const { viewer } = useConsole()
  const toast = useToast()
  const [dialog, setDialog] = useState<"approve" | "deny" | null>(null)
  const [note, setNote] = useState("")
  const person = item.person
  const who = person?.email ?? "A deleted account"
  const own = person?.id === viewer.id
  const approvedByMe = item.approvals.some((a) => a.admin_id === viewer.id)
  const needsSuper = person !== null && person.role !== "member" && viewer.role !== "super_admin"
  const badge = statusBadge[item.status]
  const methods = ((person?.posture.methods as string[] | undefined) ?? []).map(
    (m) => methodLabels[m] ?? m,
  )
  const last = item.approvals.length + 1 >= item.approvals_needed

  const approve = async () => {
    const res = await api.post<{ request: RecoveryQueueItem; completed: boolean }>(
      `/api/admin/recovery-requests/${item.id}/approve`,
    )
    onChanged(res.request)
    toast(
      res.completed
        ? `${who}'s second factors were reset. They can set up a new one now.`
        : `Your approval is recorded. A second super admin must approve ${who}'s request.`,
    )
  }
  const deny = async () => {
    const res = await api.post<{ request: RecoveryQueueItem }>(
      `/api/admin/recovery-requests/${item.id}/deny`,
      note.trim() ? { note: note.trim() } : {},
    )
    onChanged(res.request)
    toast(`${who}'s request was denied. They were told by email.`)
  }

  return (
    <article className="kg-admin-panel kg-recovery" aria-labelledby={`kg-recovery-${item.id}`}>
      <header className="kg-recovery__header">
        <div>
          <h3 id={`kg-recovery-${item.id}`} className="kg-recovery__who">
            {person ? <Link href={`/admin/users/${person.id}`}>{who}</Link> : who}
          </h3>
          <p className="kg-admin-muted kg-recovery__when">
            {person ? roleLabels[person.role] : ""}
            {item.submitted_at ? ` · asked ${formatRelative(item.submitted_at)}` : ""}
            {item.status === "open" && item.expires_at
              ? ` · expires ${formatRelative(item.expires_at)}`
              : ""}
          </p>
        </div>
        <div className="kg-admin-badges">
          <Badge tone={badge.tone}>{badge.label}</Badge>
          {item.previous_requests > 0 && (
            <Badge tone="warn">{`Asked ${item.previous_requests + 1} times in 90 days`}</Badge>
          )}
        </div>
      </header>

      <blockquote className="kg-recovery__reason">{item.reason}</blockquote>

      <div className="kg-recovery__grid">
        <div>
          <h4 className="kg-recovery__label">Request came from</h4>
          <p className="kg-recovery__value">
            {item.device}
            <span className="kg-admin-cell-sub">IP {item.ip ?? "unknown"}</span>
          </p>
        </div>
        <div>
          <h4 className="kg-recovery__label">Sign-in methods now</h4>
          <p className="kg-recovery__value">{methods.length ? methods.join(", ") : "None"}</p>
        </div>
        <div>
          <h4 className="kg-recovery__label">Recent sign-ins</h4>
          {item.recent_sign_ins.length === 0 ? (
            <p className="kg-admin-muted">None recorded</p>
          ) : (
            <ul className="kg-recovery__list">
              {item.recent_sign_ins.map((s, i) => (
                <li key={i}>
                  {s.device} <span className="kg-admin-muted">· {s.ip ?? "unknown IP"}</span>
                  <span className="kg-admin-cell-sub">{formatDateTime(s.at)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        {item.status === "open" && (
          <div>
            <h4 className="kg-recovery__label">Signed in on</h4>
            {item.sessions.length === 0 ? (
              <p className="kg-admin-muted">No active sessions</p>
            ) : (
              <ul className="kg-recovery__list">
                {item.sessions.map((s) => (
                  <li key={s.id}>
                    {s.device}{" "}
                    <span className="kg-admin-muted">
                      · {s.aal === "aal2" ? "with second factor" : "password only"}
                    </span>
                    <span className="kg-admin-cell-sub">
                      {s.ip ?? "unknown IP"} · since {formatDateTime(s.authenticated_at)}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>

      {(item.approvals.length > 0 || item.approvals_needed > 1) && (
        <p className="kg-recovery__approvals" data-testid="kg-recovery-approvals">
          {item.approvals.length} of {item.approvals_needed} approvals
          {item.approvals.length > 0 &&
            `: ${item.approvals.map((a) => `${a.email ?? a.admin_id} (${formatDateTime(a.at)})`).join(", ")}`}
        </p>
      )}
      {item.status === "denied" && item.decision_note && (
        <p className="kg-admin-muted">Note to them: “{item.decision_note}”</p>
      )}

      {item.status === "open" && (
        <div className="kg-recovery__actions">
          {own ? (
            <p className="kg-admin-muted">This is your own request: another admin decides it.</p>
          ) : needsSuper ? (
            <p className="kg-admin-muted">
              An administrator's request is a super admin's to decide.
            </p>
          ) : approvedByMe ? (
            <p className="kg-admin-muted">
              You approved it. A second super admin must approve it too.
            </p>
          ) : (
            <>
              <button
                type="button"
                className="kg-button kg-button--primary"
                onClick={() => setDialog("approve")}
              >
                {last ? "Approve and reset 2FA" : "Approve (1 of 2)"}
              </button>
              <button
                type="button"
                className="kg-button kg-admin-button--danger-outline"
                onClick={() => {
                  setNote("")
                  setDialog("deny")
                }}
              >
                Deny
              </button>
            </>
          )}
        </div>
      )}

      <ConfirmDialog
        open={dialog === "approve"}
        title={last ? `Reset two-factor for ${who}?` : `Approve ${who}'s request?`}
        confirmLabel={last ? "Approve and reset" : "Approve"}
        danger={last}
        onConfirm={approve}
        onClose={() => setDialog(null)}
      >
        {last ? (
          <p>
            Their authenticator app, security keys and recovery codes are removed and every session
            but the one that asked is signed out. They are sent to set up a new second factor.
            Confirm who they are first (a call, a video chat) if anything looks unusual.
          </p>
        ) : (
          <p>
            This is an administrator's request: your approval is recorded and the security team is
            asked for a second one. Nothing changes on the account yet.
          </p>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === "deny"}
        title={`Deny ${who}'s request?`}
        confirmLabel="Deny request"
        danger
        onConfirm={deny}
        onClose={() => setDialog(null)}
      >
        <p>
          Nothing on their account changes. They are told by email and on the page they asked from.
        </p>
        <label className="kg-admin-label" htmlFor={`kg-deny-note-${item.id}`}>
          Note to them <span className="kg-admin-optional">(optional)</span>
        </label>
        <textarea
          id={`kg-deny-note-${item.id}`}
          className="kg-admin-input"
          rows={3}
          maxLength={500}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          placeholder="For example: call the service desk so we can confirm it's you."
        />
      </ConfirmDialog>
    </article>
  )
}

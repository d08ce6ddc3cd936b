import type { SettingsFlow, UiText } from "@ory/client-fetch"
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react"
import { checkPassword } from "../../../webhooks/policy/password-rules"
import { REUSED_TEXT, SSO_PASSWORD_TEXT } from "../../../webhooks/proxy/refusals"
import { api, ApiError } from "../api"
import { PasswordRuleList } from "../components/password-rules"
import { useToast } from "../components/toaster"
import type { Refusal } from "../refusal"
import { formatRelative } from "./format"
import { csrfToken, messagesFor, submitSettings } from "./flow-submit"
import type { Retry } from "./reverify-dialog"
import type { SecurityOverview } from "./types"

type PasswordCardProps = {
  flow: SettingsFlow
  overview: SecurityOverview | null
  /** Kratos wants a recent sign-in: the page verifies it and calls `retry` to save again. */
  onRefreshRequired: (retry: Retry) => void
  /** Called after a saved change (and the forced-change acknowledgement, when one was due). */
  onChanged: () => void
  /** Why the proxy refused the password a form post sent to this flow (shown until the next try). */
  refusal?: Refusal | null
}

/**
 * New password + confirmation, checked live against the same rules the service enforces, then
 * submitted to the Kratos settings flow. A forced change is acknowledged right after.
 */
export function PasswordCard({
  flow,
  overview,
  onRefreshRequired,
  onChanged,
  refusal = null,
}: PasswordCardProps) {
  const notify = useToast()
  const ids = { pw: useId(), confirm: useId(), rules: useId(), errors: useId() }
  const [password, setPassword] = useState("")
  const [confirm, setConfirm] = useState("")
  const [reveal, setReveal] = useState(false)
  const [touched, setTouched] = useState(false)
  const [busy, setBusy] = useState(false)
  const [serverMessages, setServerMessages] = useState<UiText[]>([])
  const [currentFlow, setCurrentFlow] = useState(flow)
  // The refusal answered the last try; a new one answers for itself.
  const [retried, setRetried] = useState(false)
  const refused = retried ? null : refusal
  const passwordInput = useRef<HTMLInputElement>(null)

  // Sent back after a refused password: the field to fix is where the cursor goes.
  useEffect(() => {
    if (refusal?.kind === "password_failed" || refusal?.kind === "password_reused")
      passwordInput.current?.focus()
  }, [refusal])

  const failing = useMemo(() => new Set(checkPassword(password).map((r) => r.key)), [password])
  const mismatch = confirm.length > 0 && confirm !== password
  const ready = password.length > 0 && failing.size === 0 && confirm === password

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault()
    setTouched(true)
    setRetried(true)
    if (!ready || busy) return
    await save()
  }

  const save = async () => {
    setBusy(true)
    setServerMessages([])
    const result = await submitSettings(currentFlow, {
      method: "password",
      password,
      csrf_token: csrfToken(currentFlow),
    })
    if (result.kind === "saved") {
      setCurrentFlow(result.flow)
      setPassword("")
      setConfirm("")
      setTouched(false)
      const acknowledged = await acknowledgeIfForced(overview, notify)
      notify(
        "success",
        acknowledged
          ? "Password changed. Your account is unlocked and your manager has been told."
          : "Password changed. Your other devices were signed out.",
      )
      onChanged()
    } else if (result.kind === "invalid") {
      setCurrentFlow(result.flow)
      setServerMessages(messagesFor(result.flow, "password").filter((m) => m.type === "error"))
    } else if (result.kind === "refresh_required") {
      onRefreshRequired(save)
    } else if (result.kind === "failed") {
      notify("error", result.message)
    }
    setBusy(false)
  }

  const lastChanged = overview?.password.last_changed_at
  return (
    <section className="kg-section" aria-labelledby="kg-password-title" data-testid="kg-password">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-password-title" className="kg-section__title">
            Password
          </h2>
          <p className="kg-section__description">
            {overview && !overview.password.set
              ? "You have no password yet. Choose one to sign in with next time."
              : lastChanged
                ? `Last changed ${formatRelative(lastChanged)}.`
                : "Use a password you don't use anywhere else."}
            {overview?.password.rotation_due && " Your organisation asks you to change it now."}
          </p>
        </div>
      </header>
      <form className="kg-form" onSubmit={onSubmit} noValidate>
        {refused && <PasswordRefusalNotice refusal={refused} />}
        <div className="kg-field">
          <label className="kg-field__label" htmlFor={ids.pw}>
            New password
          </label>
          <div className="kg-field__control">
            <input
              ref={passwordInput}
              id={ids.pw}
              name="password"
              type={reveal ? "text" : "password"}
              autoComplete="new-password"
              className="kg-input"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={touched && failing.size > 0}
              aria-describedby={`${ids.rules} ${ids.errors}`}
            />
            <button
              type="button"
              className="kg-field__toggle"
              onClick={() => setReveal((r) => !r)}
              aria-pressed={reveal}
            >
              {reveal ? "Hide" : "Show"}
            </button>
          </div>
          <PasswordRuleList
            id={ids.rules}
            password={password}
            failing={failing}
            touched={touched}
          />
          <div id={ids.errors} aria-live="polite">
            {serverMessages.map((m) => (
              <p key={m.id} className="kg-field__error" data-testid={`kg-message-${m.id}`}>
                {m.text}
              </p>
            ))}
          </div>
        </div>
        <div className="kg-field">
          <label className="kg-field__label" htmlFor={ids.confirm}>
            Confirm new password
          </label>
          <input
            id={ids.confirm}
            name="password_confirm"
            type={reveal ? "text" : "password"}
            autoComplete="new-password"
            className="kg-input"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            aria-invalid={mismatch}
          />
          {(mismatch || (touched && confirm !== password)) && (
            <p className="kg-field__error" role="alert">
              The passwords don't match.
            </p>
          )}
        </div>
        <p className="kg-hint">
          Changing your password signs you out on your other devices; sign in there again with the
          new one.
        </p>
        <div className="kg-form__actions">
          <button type="submit" className="kg-button kg-button--primary" disabled={busy}>
            {busy
              ? "Saving…"
              : overview && !overview.password.set
                ? "Set password"
                : "Change password"}
          </button>
        </div>
      </form>
    </section>
  )
}

/**
 * Why the password a form post sent was not changed, as the proxy's redirect said. `explained`:
 * the section around it already says why (the SSO note), so only the outcome is shown.
 */
export function PasswordRefusalNotice({
  refusal,
  explained = false,
}: {
  refusal: Refusal
  explained?: boolean
}) {
  if (
    refusal.kind !== "password_failed" &&
    refusal.kind !== "password_reused" &&
    refusal.kind !== "sso_required"
  )
    return null
  const why =
    refusal.kind === "password_failed"
      ? "The new password doesn't meet the requirements below. Choose another one."
      : refusal.kind === "password_reused"
        ? REUSED_TEXT
        : SSO_PASSWORD_TEXT
  return (
    <p className="kg-notice kg-notice--error" role="alert" data-testid="kg-password-refused">
      <strong>Your password wasn't changed.</strong>
      {!explained && ` ${why}`}
    </p>
  )
}

async function acknowledgeIfForced(
  overview: SecurityOverview | null,
  notify: ReturnType<typeof useToast>,
): Promise<boolean> {
  if (!overview?.force_password_change.required) return false
  try {
    await api.post("/api/auth/ack-password-change")
    return true
  } catch (err) {
    const message =
      err instanceof ApiError && err.status === 409
        ? "Your password changed, but we couldn't confirm it yet. Reload the page in a moment."
        : "Your password changed, but the confirmation failed. Reload the page to try again."
    notify("error", message)
    return false
  }
}

import { useEffect, useState, type FormEvent } from "react"
import type { OwnRecoveryAnswer, RecoveryCodeSentAnswer } from "../../../webhooks/routes/answers"
import { api, asApiError, type ApiError } from "../api"
import { AuthLayout } from "../components/auth-layout"
import { Loading } from "../components/flow-status"
import { useResource } from "../use-resource"

type Own = NonNullable<OwnRecoveryAnswer["request"]>

const when = (iso: string | null) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—"

/** What each refusal means for the person, in words. */
function explain(err: ApiError): string {
  switch (err.reason) {
    case "session_required":
      return "Sign in with your email and password first, then come back here."
    case "second_factor_available":
      return "You're signed in with your second factor, so you can change your methods yourself on the Security page."
    case "no_second_factor":
      return "Your account has no second factor to reset: you can sign in with your password alone."
    case "email_not_verified":
      return "Your email address isn't verified, so we can't send you a code. Ask an administrator for help."
    case "request_open":
      return "You already have a request waiting for an administrator."
    case "too_many_codes":
      return "Too many codes were sent today. Try again tomorrow, or ask an administrator."
    case "password_sign_in_required":
      return "Sign in with your password first."
    default:
      return err.message
        ? `${err.message[0]!.toUpperCase()}${err.message.slice(1)}.`
        : "Something went wrong."
  }
}

/**
 * `/lost-device`: a person who lost their second factor (signed in with their password, at
 * AAL1) asks an administrator to reset it: a code mailed to their verified address, a reason,
 * then the request's state (waiting, approved, denied, expired).
 */
export function LostDevicePage() {
  const { resource, reload, setData } = useResource("lost-device", () =>
    api.get<OwnRecoveryAnswer>("/api/me/recovery-request"),
  )
  // A waiting request is looked at again every 20 seconds.
  const waiting = resource.status === "ready" && resource.data.request?.status === "open"
  useEffect(() => {
    if (!waiting) return
    const timer = setInterval(reload, 20_000)
    return () => clearInterval(timer)
  }, [waiting, reload])

  return (
    <AuthLayout>
      <div className="kg-card kg-lost" data-testid="kg-lost-device">
        <h1 className="kg-card__title">Lost your device?</h1>
        {resource.status === "loading" && <Loading label="Loading…" />}
        {resource.status === "error" && <SignedOut error={resource.error} onRetry={reload} />}
        {resource.status === "ready" && (
          <Body
            request={resource.data.request}
            onChanged={(request) => setData(() => ({ request }))}
            onReload={reload}
          />
        )}
      </div>
    </AuthLayout>
  )
}

function SignedOut({ error, onRetry }: { error: ApiError; onRetry: () => void }) {
  if (error.status === 401) {
    return (
      <>
        <p className="kg-card__text">
          If you lost the phone or key you sign in with, and your recovery codes, an administrator
          can reset your two-factor authentication. Sign in with your email and password first; at
          the second step, choose "Lost your device?".
        </p>
        <div className="kg-card__actions">
          <a
            className="kg-button kg-button--primary"
            href="/self-service/login/browser?return_to=/lost-device"
          >
            Sign in
          </a>
        </div>
      </>
    )
  }
  return (
    <>
      <p className="kg-notice kg-notice--error" role="alert">
        {explain(error)}
      </p>
      <button type="button" className="kg-button" onClick={onRetry}>
        Try again
      </button>
    </>
  )
}

function Body({
  request,
  onChanged,
  onReload,
}: {
  request: Own | null
  onChanged: (r: Own) => void
  onReload: () => void
}) {
  const status = request?.status
  if (status === "open") {
    return (
      <div data-testid="kg-lost-waiting">
        <p className="kg-notice kg-notice--info" role="status">
          <strong>Your request is waiting for an administrator.</strong> You'll get an email when
          it's decided.
        </p>
        <dl className="kg-facts kg-lost__facts">
          <div>
            <dt>Sent</dt>
            <dd>{when(request!.submitted_at)}</dd>
          </div>
          <div>
            <dt>Expires</dt>
            <dd>{when(request!.expires_at)}</dd>
          </div>
          {request!.approvals_needed > 1 && (
            <div>
              <dt>Approvals</dt>
              <dd>
                {request!.approvals} of {request!.approvals_needed}
              </dd>
            </div>
          )}
        </dl>
        <p className="kg-card__text">
          An administrator may contact you to confirm it's you. Keep this page open or come back
          later: it updates by itself.
        </p>
        <div className="kg-card__actions">
          <button type="button" className="kg-button" onClick={onReload}>
            Check now
          </button>
          <a className="kg-button" href="/logout">
            Sign out
          </a>
        </div>
      </div>
    )
  }
  if (status === "approved") {
    return (
      <div data-testid="kg-lost-approved">
        <p className="kg-notice kg-notice--info" role="status">
          <strong>Your request was approved.</strong> Your old second factors were removed and your
          other sessions were signed out.
        </p>
        <p className="kg-card__text">
          Set up a new authenticator app or security key now, and save new recovery codes.
        </p>
        <div className="kg-card__actions">
          <a className="kg-button kg-button--primary" href="/settings?tab=security">
            Set up two-factor authentication
          </a>
        </div>
      </div>
    )
  }
  return (
    <>
      {status === "denied" && (
        <p className="kg-notice kg-notice--error" role="status" data-testid="kg-lost-denied">
          <strong>Your last request was denied</strong> on {when(request!.decided_at)}.
          {request!.decision_note ? ` The administrator's note: “${request!.decision_note}”` : ""}{" "}
          Nothing on your account was changed.
        </p>
      )}
      {status === "expired" && (
        <p className="kg-notice kg-notice--warn" role="status" data-testid="kg-lost-expired">
          <strong>Your last request expired</strong> on {when(request!.expires_at)} without a
          decision. Nothing on your account was changed; you can ask again.
        </p>
      )}
      <AskForm verifying={status === "verifying" ? request : null} onSent={onChanged} />
    </>
  )
}

function AskForm({ verifying, onSent }: { verifying: Own | null; onSent: (r: Own) => void }) {
  const [sentTo, setSentTo] = useState<string | null>(null)
  const [codeSent, setCodeSent] = useState(verifying !== null)
  const [code, setCode] = useState("")
  const [reason, setReason] = useState("")
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)

  const sendCode = async () => {
    setPending(true)
    setError(null)
    try {
      const res = await api.post<RecoveryCodeSentAnswer>("/api/me/recovery-request/code")
      setSentTo(res.sent_to)
      setCodeSent(true)
      setCode("")
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setPending(true)
    setError(null)
    try {
      const res = await api.post<OwnRecoveryAnswer>("/api/me/recovery-request", {
        code: code.trim(),
        reason: reason.trim(),
      })
      onSent(res.request!)
    } catch (err) {
      setError(asApiError(err))
      setPending(false)
    }
  }

  if (!codeSent) {
    return (
      <>
        <p className="kg-card__text">
          If you lost the phone or security key you sign in with, and your recovery codes, ask an
          administrator to reset your two-factor authentication. First we email a code to your
          address to check it's you.
        </p>
        <ol className="kg-steps kg-lost__steps">
          <li>We email you a 6-digit code.</li>
          <li>You enter it and say what happened.</li>
          <li>An administrator approves; you set up a new second factor.</li>
        </ol>
        {error && (
          <p className="kg-notice kg-notice--error" role="alert">
            {explain(error)}
          </p>
        )}
        <div className="kg-card__actions">
          <button
            type="button"
            className="kg-button kg-button--primary"
            onClick={sendCode}
            disabled={pending}
          >
            {pending ? "Sending…" : "Email me a code"}
          </button>
          <a className="kg-button" href="/self-service/login/browser?aal=aal2">
            Back to sign-in
          </a>
        </div>
      </>
    )
  }
  const fieldError = error && error.reason?.startsWith("code") ? error : null
  return (
    <form className="kg-form" onSubmit={submit} noValidate data-testid="kg-lost-form">
      <p className="kg-card__text">
        {sentTo ? `We sent a code to ${sentTo}.` : "We sent a code to your email address."} It works
        for 15 minutes.
      </p>
      <div className="kg-field">
        <label className="kg-field__label" htmlFor="kg-lost-code">
          Code from the email
        </label>
        <input
          id="kg-lost-code"
          className="kg-input kg-input--code"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          value={code}
          onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
          aria-invalid={fieldError ? true : undefined}
          aria-describedby={fieldError ? "kg-lost-code-error" : undefined}
          required
        />
        {fieldError && (
          <span id="kg-lost-code-error" className="kg-field__error" role="alert">
            {explain(fieldError)}
          </span>
        )}
      </div>
      <div className="kg-field">
        <label className="kg-field__label" htmlFor="kg-lost-reason">
          What happened?
        </label>
        <textarea
          id="kg-lost-reason"
          className="kg-input"
          rows={4}
          maxLength={1000}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          placeholder="For example: my phone was stolen on Monday and my recovery codes were on it."
          required
        />
        <span className="kg-hint">At least 10 characters. Administrators read this.</span>
      </div>
      {error && !fieldError && (
        <p className="kg-notice kg-notice--error" role="alert">
          {explain(error)}
        </p>
      )}
      <div className="kg-form__actions">
        <button
          type="submit"
          className="kg-button kg-button--primary"
          disabled={pending || code.length !== 6 || reason.trim().length < 10}
        >
          {pending ? "Sending…" : "Send request"}
        </button>
        <button type="button" className="kg-link-button" onClick={sendCode} disabled={pending}>
          Send a new code
        </button>
      </div>
    </form>
  )
}

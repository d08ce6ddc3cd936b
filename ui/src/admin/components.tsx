import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react"
import { api, stepUpUrl, type ApiError } from "../api"
import { Loading } from "../components/flow-status"
import { useToast as useAppToast } from "../components/toaster"
import { loginUrlReturningHere, navigate } from "../sdk"
import { onLinkClick, sentence } from "./lib"

/** A link inside the console: a real anchor (new tab works), navigated without a reload. */
export function Link({
  href,
  className,
  children,
  ...rest
}: {
  href: string
  className?: string
  children: ReactNode
  title?: string
  "aria-current"?: "page" | undefined
}) {
  return (
    <a href={href} className={className} onClick={onLinkClick} {...rest}>
      {children}
    </a>
  )
}

// ---------- access and error states ----------

type MySecurity = { two_factor?: { enabled?: boolean; recovery_codes_left?: number } }

/**
 * The session is AAL1: admins confirm their second factor before the console opens. Someone
 * with no second factor yet would meet a login page with nothing to offer, so they are sent
 * to set one up instead.
 */
export function StepUpCard() {
  const [canStepUp, setCanStepUp] = useState<boolean | null>(null)
  useEffect(() => {
    let current = true
    api.get<MySecurity>("/api/me/security").then(
      (me) => {
        const tf = me.two_factor
        if (current) setCanStepUp(tf?.enabled === true || (tf?.recovery_codes_left ?? 0) > 0)
      },
      // Unknown: offer the step-up, which is right for almost every admin.
      () => current && setCanStepUp(true),
    )
    return () => {
      current = false
    }
  }, [])
  if (canStepUp === null) return <Loading />
  return (
    <section className="kg-admin-gate" aria-labelledby="kg-admin-gate-title">
      <div className="kg-admin-gate__icon" aria-hidden="true">
        <svg viewBox="0 0 24 24">
          <rect x="5" y="10" width="14" height="10" rx="2" />
          <path d="M8 10V7a4 4 0 0 1 8 0v3" />
        </svg>
      </div>
      <h2 id="kg-admin-gate-title" className="kg-admin-gate__title">
        {canStepUp ? "Confirm it's you" : "Set up two-factor first"}
      </h2>
      <p className="kg-admin-gate__text">
        {canStepUp
          ? "The admin console changes other people's security. Enter a code from your authenticator app or use your security key to continue."
          : "The admin console needs a sign-in confirmed with a second factor, and your account has none yet. Add an authenticator app or a security key, then come back."}
      </p>
      <div className="kg-admin-gate__actions">
        {canStepUp ? (
          <a className="kg-button kg-button--primary" href={stepUpUrl()}>
            Continue with two-factor
          </a>
        ) : (
          <a className="kg-button kg-button--primary" href="/settings?tab=security">
            Set up two-factor
          </a>
        )}
        {canStepUp && (
          <a className="kg-button" href="/settings?tab=security">
            Back to my account
          </a>
        )}
      </div>
    </section>
  )
}

export function AdminsOnlyCard() {
  return (
    <section className="kg-admin-gate" aria-labelledby="kg-admin-gate-title">
      <div className="kg-admin-gate__icon" aria-hidden="true">
        <svg viewBox="0 0 24 24">
          <path d="M12 3l7 3v5c0 4.6-3 8.3-7 10-4-1.7-7-5.4-7-10V6z" />
          <path d="M9.5 9.5l5 5M14.5 9.5l-5 5" />
        </svg>
      </div>
      <h2 id="kg-admin-gate-title" className="kg-admin-gate__title">
        Admins only
      </h2>
      <p className="kg-admin-gate__text">
        The admin console is for administrators. If you need access, ask a super admin to change
        your role.
      </p>
      <div className="kg-admin-gate__actions">
        <a className="kg-button kg-button--primary" href="/settings?tab=security">
          Back to my account
        </a>
      </div>
    </section>
  )
}

function RedirectToLogin() {
  useEffect(() => navigate(loginUrlReturningHere()), [])
  return <Loading label="Taking you to sign in…" />
}

/**
 * What a failed request shows: the step-up card, "Admins only", a redirect to sign in, or a
 * readable message with the request id and a way to try again.
 */
export function ErrorState({
  error,
  onRetry,
  title = "This page couldn't load",
}: {
  error: ApiError
  onRetry?: () => void
  title?: string
}) {
  if (error.status === 401) return <RedirectToLogin />
  if (error.status === 403 && error.reason === "aal2_required") return <StepUpCard />
  if (error.status === 403 && error.reason === "admin_required") return <AdminsOnlyCard />
  return (
    <section className="kg-admin-panel kg-admin-error" role="alert">
      <h2 className="kg-admin-panel__title">{title}</h2>
      <p className="kg-admin-muted">{sentence(error.message)}</p>
      {error.body.request_id && (
        <p className="kg-admin-error__id">
          Request id <code>{error.body.request_id}</code>
        </p>
      )}
      {onRetry && (
        <div className="kg-admin-actions">
          <button type="button" className="kg-button" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
    </section>
  )
}

/** An inline message under a form or action: what went wrong and the request id. */
/** The button under a paged list. */
export function LoadMoreButton({ loading, onClick }: { loading: boolean; onClick: () => void }) {
  return (
    <button type="button" className="kg-button" onClick={onClick} disabled={loading}>
      {loading ? "Loading…" : "Load more"}
    </button>
  )
}

export function InlineError({ error }: { error: ApiError | null }) {
  if (!error) return null
  return (
    <p className="kg-admin-inline-error" role="alert">
      {sentence(error.message)}
      {error.body.request_id && (
        <span className="kg-admin-inline-error__id"> (request {error.body.request_id})</span>
      )}
    </p>
  )
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="kg-admin-empty">
      <p className="kg-admin-empty__title">{title}</p>
      {children && <p className="kg-admin-muted">{children}</p>}
    </div>
  )
}

// ---------- badges ----------

export type Tone = "neutral" | "good" | "warn" | "bad" | "info"

export function Badge({ tone = "neutral", children }: { tone?: Tone; children: ReactNode }) {
  return <span className={`kg-admin-badge kg-admin-badge--${tone}`}>{children}</span>
}

// ---------- dialogs ----------

/**
 * A modal on the native <dialog>: focus moves in and is kept there, Escape closes it, and
 * focus returns to the button that opened it.
 */
export function Dialog({
  open,
  onClose,
  title,
  children,
  wide = false,
}: {
  open: boolean
  onClose: () => void
  title: string
  children: ReactNode
  wide?: boolean
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (open && !dialog.open) dialog.showModal()
    if (!open && dialog.open) dialog.close()
  }, [open])
  return (
    <dialog
      ref={ref}
      className={`kg-admin-dialog${wide ? " kg-admin-dialog--wide" : ""}`}
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
    >
      {open && (
        <>
          <h2 id={titleId} className="kg-admin-dialog__title">
            {title}
          </h2>
          {children}
        </>
      )}
    </dialog>
  )
}

/** Asks before a destructive action; runs it and shows its error in place if it fails. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger = false,
  onConfirm,
  onClose,
}: {
  open: boolean
  title: string
  children: ReactNode
  confirmLabel: string
  danger?: boolean
  onConfirm: () => Promise<void>
  onClose: () => void
}) {
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  useEffect(() => {
    if (open) {
      setPending(false)
      setError(null)
    }
  }, [open])
  const run = async () => {
    setPending(true)
    setError(null)
    try {
      await onConfirm()
      onClose()
    } catch (err) {
      setError(err as ApiError)
      setPending(false)
    }
  }
  return (
    <Dialog open={open} onClose={pending ? () => {} : onClose} title={title}>
      <div className="kg-admin-dialog__body">{children}</div>
      <InlineError error={error} />
      <div className="kg-admin-dialog__actions">
        <button type="button" className="kg-button" onClick={onClose} disabled={pending}>
          Cancel
        </button>
        <button
          type="button"
          className={`kg-button ${danger ? "kg-admin-button--danger" : "kg-button--primary"}`}
          onClick={run}
          disabled={pending}
        >
          {pending ? "Working…" : confirmLabel}
        </button>
      </div>
    </Dialog>
  )
}

// ---------- copy ----------

/** A read-only value with a Copy button (for one-time codes and links). */
export function CopyField({ label, value }: { label: string; value: string }) {
  const id = useId()
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle")
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value)
      setCopied("copied")
    } catch {
      // Clipboard access needs a secure context or permission; selecting lets people copy.
      const input = document.getElementById(id) as HTMLInputElement | null
      input?.select()
      setCopied("failed")
    }
  }
  return (
    <div className="kg-admin-copy">
      <label className="kg-admin-label" htmlFor={id}>
        {label}
      </label>
      <div className="kg-admin-copy__row">
        <input
          id={id}
          className="kg-admin-input kg-admin-copy__value"
          readOnly
          value={value}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" className="kg-button" onClick={copy}>
          {copied === "copied" ? "Copied" : "Copy"}
        </button>
      </div>
      <span className="kg-admin-hint" aria-live="polite">
        {copied === "failed"
          ? "Copy isn't available here: the text is selected, press Ctrl+C."
          : ""}
      </span>
    </div>
  )
}

// ---------- toasts ----------

/** The app's toasts (from the shell), in the console's words: good news or a failure. */
export function useToast(): (message: string, tone?: "good" | "bad") => void {
  const notify = useAppToast()
  return useCallback(
    (message: string, tone: "good" | "bad" = "good") =>
      notify(tone === "good" ? "success" : "error", message),
    [notify],
  )
}

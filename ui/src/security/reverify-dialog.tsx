import type { LoginFlow } from "@ory/client-fetch"
import { useEffect, useId, useRef, useState } from "react"
import { refreshUrl } from "../api"
import { frontend, toApiFailure } from "../sdk"

/** What the page retries once Kratos has a recent sign-in again. */
export type Retry = () => Promise<void>

function inputValue(flow: LoginFlow, name: string): string {
  const node = flow.ui.nodes.find(
    (n) => n.attributes.node_type === "input" && n.attributes.name === name,
  )
  const v: unknown = node && node.attributes.node_type === "input" ? node.attributes.value : ""
  return typeof v === "string" ? v : ""
}

function errorsOf(flow: LoginFlow): string[] {
  return [...(flow.ui.messages ?? []), ...flow.ui.nodes.flatMap((n) => n.messages)]
    .filter((m) => m.type === "error")
    .map((m) => m.text)
}

/**
 * "Verify it's you", for every sensitive form on the Security page: Kratos wants a recent
 * sign-in before it saves a security change, and this asks for the password in a dialog (a
 * `refresh=true` login flow submitted as JSON) instead of leaving the page. The page stays as
 * it was, with what was typed, and the change is sent again once Kratos has the sign-in. An
 * account without a password takes the full sign-in page, which returns to this section.
 */
export function ReverifyDialog({
  retry,
  onClose,
  section,
  page = "/settings?tab=security",
}: {
  /** Set while a change waits for the sign-in; null: closed. */
  retry: Retry | null
  onClose: () => void
  /** The page section to come back to after the full sign-in page (an element id). */
  section: string
  /** The page to come back to, when it is not the Security page. */
  page?: string
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const ids = { title: useId(), password: useId(), errors: useId() }
  const [password, setPassword] = useState("")
  const [errors, setErrors] = useState<string[]>([])
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (retry && !dialog.open) {
      setPassword("")
      setErrors([])
      dialog.showModal()
    }
    if (!retry && dialog.open) dialog.close()
  }, [retry])

  const verify = async () => {
    if (!retry || !password) return
    setBusy(true)
    setErrors([])
    try {
      const flow = await frontend.createBrowserLoginFlow({ refresh: true })
      try {
        await frontend.updateLoginFlow({
          flow: flow.id,
          updateLoginFlowBody: {
            method: "password",
            identifier: inputValue(flow, "identifier"),
            password,
            csrf_token: inputValue(flow, "csrf_token"),
          },
        })
      } catch (err) {
        const failure = await toApiFailure(err)
        const answered =
          failure.kind === "response" && failure.status === 400
            ? errorsOf(failure.body as unknown as LoginFlow)
            : []
        setErrors(answered.length ? answered : ["That didn't work. Check your password."])
        setBusy(false)
        return
      }
      setPassword("")
      onClose()
      await retry()
    } catch {
      setErrors(["Can't reach the server. Check your connection and try again."])
    }
    setBusy(false)
  }

  return (
    <dialog
      ref={ref}
      className="kg-dialog"
      aria-labelledby={ids.title}
      data-testid="kg-reverify"
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault()
        if (!busy) onClose()
      }}
    >
      {retry && (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            void verify()
          }}
        >
          <h2 id={ids.title} className="kg-dialog__title">
            Verify it's you
          </h2>
          <p className="kg-dialog__body">
            Changing how you sign in needs a recent sign-in. Enter your password and the change is
            saved; nothing you typed on the page is lost.
          </p>
          <div className="kg-field kg-dialog__field">
            <label className="kg-field__label" htmlFor={ids.password}>
              Your current password
            </label>
            <input
              id={ids.password}
              type="password"
              name="password"
              autoComplete="current-password"
              className="kg-input"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-describedby={ids.errors}
              aria-invalid={errors.length > 0}
              autoFocus
            />
            <div id={ids.errors} aria-live="assertive">
              {errors.map((m) => (
                <p key={m} className="kg-field__error">
                  {m}
                </p>
              ))}
            </div>
          </div>
          <p className="kg-hint">
            No password, or signing in with a passkey?{" "}
            <a href={refreshUrl(`${page}#${section}`)}>Sign in again instead</a>.
          </p>
          <div className="kg-dialog__actions">
            <button type="button" className="kg-button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button
              type="submit"
              className="kg-button kg-button--primary"
              disabled={busy || !password}
            >
              {busy ? "Verifying…" : "Verify and save"}
            </button>
          </div>
        </form>
      )}
    </dialog>
  )
}

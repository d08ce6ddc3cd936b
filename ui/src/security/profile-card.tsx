import type { SettingsFlow, UiNode, UiNodeInputAttributes, UiText } from "@ory/client-fetch"
import { useId, useState, type FormEvent } from "react"
import { useToast } from "../components/toaster"
import { csrfToken, submitSettings } from "./flow-submit"
import type { Retry } from "./reverify-dialog"

type Field = { name: string; label: string; attributes: UiNodeInputAttributes }

/** The profile group's fields (the identity schema's traits), in the flow's order. */
function profileFields(flow: SettingsFlow): Field[] {
  return flow.ui.nodes.flatMap((n: UiNode) => {
    const a = n.attributes
    if (n.group !== "profile" || a.node_type !== "input") return []
    if (a.type === "hidden" || a.type === "submit" || a.type === "button") return []
    if (!a.name.startsWith("traits.")) return []
    return [{ name: a.name, label: n.meta.label?.text ?? a.name, attributes: a }]
  })
}

function valuesOf(flow: SettingsFlow): Record<string, string> {
  return Object.fromEntries(
    profileFields(flow).map((f) => [
      f.name,
      typeof f.attributes.value === "string" ? f.attributes.value : "",
    ]),
  )
}

/** `{ "traits.name.first": "Ada" }` as Kratos takes it: `{ name: { first: "Ada" } }`. */
function traitsOf(values: Record<string, string>): Record<string, unknown> {
  const traits: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(values)) {
    const path = name.split(".").slice(1)
    let at = traits
    path.slice(0, -1).forEach((key) => {
      at[key] = (at[key] as Record<string, unknown> | undefined) ?? {}
      at = at[key] as Record<string, unknown>
    })
    at[path[path.length - 1]!] = value
  }
  return traits
}

function fieldMessages(flow: SettingsFlow, name: string): UiText[] {
  const node = flow.ui.nodes.find(
    (n) => n.attributes.node_type === "input" && n.attributes.name === name,
  )
  return node?.messages ?? []
}

/**
 * The Profile tab's form, built like the password card on the settings flow's profile nodes:
 * the traits the identity schema lists, saved as JSON (the page stays where it is), Kratos's
 * messages under their fields, and the app's own toast when saved.
 */
export function ProfileCard({
  flow,
  onRefreshRequired,
}: {
  flow: SettingsFlow
  /** Kratos wants a recent sign-in (a new email address): the page verifies it and retries. */
  onRefreshRequired: (retry: Retry) => void
}) {
  const notify = useToast()
  const id = useId()
  const [currentFlow, setCurrentFlow] = useState(flow)
  const [values, setValues] = useState(() => valuesOf(flow))
  const [busy, setBusy] = useState(false)
  const fields = profileFields(currentFlow)
  const flowErrors = (currentFlow.ui.messages ?? []).filter((m) => m.type === "error")

  const save = async () => {
    setBusy(true)
    const before = valuesOf(currentFlow)
    const result = await submitSettings(currentFlow, {
      method: "profile",
      traits: traitsOf(values),
      csrf_token: csrfToken(currentFlow),
    })
    if (result.kind === "saved") {
      setCurrentFlow(result.flow)
      setValues(valuesOf(result.flow))
      const email = values["traits.email"]
      notify(
        "success",
        email !== undefined && email !== before["traits.email"]
          ? `Profile saved. We sent a message to ${email} to verify the new address.`
          : "Profile saved.",
      )
    } else if (result.kind === "invalid") {
      setCurrentFlow(result.flow)
    } else if (result.kind === "refresh_required") {
      onRefreshRequired(save)
    } else if (result.kind === "failed") {
      notify("error", result.message)
    }
    setBusy(false)
  }

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault()
    if (!busy) await save()
  }

  return (
    <section className="kg-section" aria-labelledby="kg-profile-title" data-testid="kg-profile">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-profile-title" className="kg-section__title">
            Your details
          </h2>
          <p className="kg-section__description">
            The email address is the one you sign in with and where security notices go.
          </p>
        </div>
      </header>
      <form className="kg-form" onSubmit={onSubmit} noValidate>
        {flowErrors.map((m) => (
          <p key={m.id} className="kg-notice kg-notice--error" role="alert">
            {m.text}
          </p>
        ))}
        {fields.map((f) => {
          const inputId = `${id}-${f.name}`
          const messages = fieldMessages(currentFlow, f.name)
          const errorId = `${inputId}-errors`
          return (
            <div className="kg-field" key={f.name}>
              <label className="kg-field__label" htmlFor={inputId}>
                {f.label}
              </label>
              <input
                id={inputId}
                name={f.name}
                type={f.attributes.type === "email" ? "email" : "text"}
                className="kg-input"
                autoComplete={f.attributes.autocomplete}
                required={f.attributes.required}
                value={values[f.name] ?? ""}
                onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
                aria-invalid={messages.some((m) => m.type === "error") || undefined}
                aria-describedby={messages.length > 0 ? errorId : undefined}
              />
              {messages.length > 0 && (
                <div id={errorId}>
                  {messages.map((m) => (
                    <p
                      key={m.id}
                      className={m.type === "error" ? "kg-field__error" : "kg-hint"}
                      data-testid={`kg-message-${m.id}`}
                    >
                      {m.text}
                    </p>
                  ))}
                </div>
              )}
            </div>
          )
        })}
        <div className="kg-form__actions">
          <button type="submit" className="kg-button kg-button--primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </section>
  )
}

import { useEffect, useId, useRef, useState, type FormEvent } from "react"
import { api, asApiError } from "../api"
import { ConfirmDialog } from "../components/confirm-dialog"
import { Loading } from "../components/flow-status"
import { useToast } from "../components/toaster"
import { useResource } from "../use-resource"
import { formatDateTime, formatRelative } from "./format"
import type { Retry } from "./reverify-dialog"
import type { ApiKey, ApiKeyCreated, ApiKeyList } from "./types"

const EXPIRY_CHOICES = [
  { value: "never", label: "Never" },
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "365", label: "In a year" },
] as const

const roleName = (role: string) => role.replace("_", " ")

/**
 * Keys for devices and scripts that can't sign in themselves (a kiosk, a wall display, a
 * build job): made here, shown once, used at the gate as `Authorization: Bearer kg_…`.
 * Listed by label and use, never by the key; each can be revoked.
 */
export function ApiKeysCard({
  basePath = "/api/me/api-keys",
  owner,
  onRefreshRequired,
}: {
  basePath?: string
  /** In the admin console: whose keys these are (the wording speaks of them, not "you"). */
  owner?: string
  /** Asks for a recent sign-in ("Verify it's you") and then retries. */
  onRefreshRequired?: (retry: Retry) => void
}) {
  const notify = useToast()
  const { resource, reload, setData } = useResource(basePath, () => api.get<ApiKeyList>(basePath))
  const [adding, setAdding] = useState(false)
  const [created, setCreated] = useState<ApiKeyCreated | null>(null)
  const [revoking, setRevoking] = useState<ApiKey | null>(null)

  const list = resource.status === "ready" ? resource.data : null
  // Revoked keys stay in the Activity tab; here only what still matters.
  const shown = list?.api_keys.filter((k) => k.status !== "revoked") ?? []
  const active = shown.filter((k) => k.status === "active").length
  const full = list ? active >= list.max_active : false

  const revoke = async (key: ApiKey) => {
    try {
      await api.delete(`${basePath}/${encodeURIComponent(key.id)}`)
      notify("success", `Key “${key.label}” revoked. Devices using it are refused from now on.`)
      setData((d) => ({ ...d, api_keys: d.api_keys.filter((k) => k.id !== key.id) }))
      reload()
    } catch (err) {
      notify("error", asApiError(err).message)
    }
  }

  return (
    <section className="kg-section" aria-labelledby="kg-api-keys-title" data-testid="kg-api-keys">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-api-keys-title" className="kg-section__title">
            Keys for devices
          </h2>
          <p className="kg-section__description">
            {owner
              ? `For a kiosk, a script or a device that can't sign in by itself. Each key acts as ${owner}.`
              : "For a kiosk, a script or a device that can't sign in by itself. A key acts as you, so give each device its own and revoke any you no longer use."}
          </p>
        </div>
        {list && !adding && !created && (
          <button
            type="button"
            className="kg-button kg-button--small"
            onClick={() => setAdding(true)}
            disabled={full}
          >
            Create key
          </button>
        )}
      </header>
      {resource.status === "loading" && <Loading label="Loading keys…" />}
      {resource.status === "error" && (
        <p className="kg-notice kg-notice--error">
          Couldn't load your keys: {resource.error.message}{" "}
          <button type="button" className="kg-link-button" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      {created && (
        <NewKey
          created={created}
          onDone={() => {
            setCreated(null)
            reload()
          }}
        />
      )}
      {list && adding && (
        <CreateKeyForm
          basePath={basePath}
          role={list.role}
          owner={owner}
          onRefreshRequired={onRefreshRequired}
          onCancel={() => setAdding(false)}
          onCreated={(made) => {
            setAdding(false)
            setCreated(made)
            setData((d) => ({ ...d, api_keys: [made.api_key, ...d.api_keys] }))
          }}
        />
      )}
      {list && (
        <>
          {shown.length === 0 ? (
            !adding &&
            !created && <p className="kg-empty">{owner ? "No keys." : "You have no keys."}</p>
          ) : (
            <ul className="kg-list" aria-label="Keys">
              {shown.map((k) => (
                <KeyItem key={k.id} apiKey={k} onRevoke={() => setRevoking(k)} />
              ))}
            </ul>
          )}
          {full && (
            <p className="kg-hint" data-testid="kg-api-keys-full">
              {owner ? "There are" : "You have"} {list.max_active} active{" "}
              {list.max_active === 1 ? "key" : "keys"}, the most {owner ? "their" : "your"} role
              allows. Revoke one to create another.
            </p>
          )}
        </>
      )}
      <ConfirmDialog
        confirm={
          revoking && {
            title: `Revoke “${revoking.label}”?`,
            body: "Any device or script using this key is refused from now on. This can't be undone.",
            action: "Revoke key",
            working: "Revoking…",
            run: () => revoke(revoking),
          }
        }
        onClose={() => setRevoking(null)}
      />
    </section>
  )
}

function KeyItem({ apiKey: k, onRevoke }: { apiKey: ApiKey; onRevoke: () => void }) {
  const used = k.last_used_at
    ? `Last used ${formatRelative(k.last_used_at)}${k.last_used_ip ? ` from ${k.last_used_ip}` : ""}`
    : "Never used"
  const expiry =
    k.status === "expired"
      ? `Expired ${formatRelative(k.expires_at)}`
      : k.expires_at
        ? `Expires ${formatRelative(k.expires_at)}`
        : "Never expires"
  return (
    <li className="kg-list__item" data-testid="kg-api-key" data-status={k.status}>
      <div className="kg-list__main">
        <p className="kg-list__title">
          {k.label}
          {k.status === "expired" && <span className="kg-badge">Expired</span>}
        </p>
        <p className="kg-list__meta">
          <code>kg_{k.key_id}…</code> · {roleName(k.scope)} access
        </p>
        <p className="kg-list__meta">
          {used} · <span title={formatDateTime(k.expires_at)}>{expiry}</span> ·{" "}
          <span title={formatDateTime(k.created_at)}>created {formatRelative(k.created_at)}</span>
        </p>
      </div>
      <button
        type="button"
        className="kg-button kg-button--small kg-button--danger"
        onClick={onRevoke}
        aria-label={`Revoke the key ${k.label}`}
      >
        Revoke
      </button>
    </li>
  )
}

function CreateKeyForm({
  basePath,
  role,
  owner,
  onCancel,
  onCreated,
  onRefreshRequired,
}: {
  basePath: string
  role: string
  owner?: string
  onCancel: () => void
  onCreated: (made: ApiKeyCreated) => void
  onRefreshRequired?: (retry: Retry) => void
}) {
  const ids = { label: useId(), expiry: useId(), scope: useId(), error: useId() }
  const [label, setLabel] = useState("")
  const [expiry, setExpiry] = useState<string>("90")
  const [scope, setScope] = useState(role)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const labelRef = useRef<HTMLInputElement>(null)
  useEffect(() => labelRef.current?.focus(), [])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (busy) return
    if (!label.trim()) {
      setError("Give the key a name, such as where the device is.")
      labelRef.current?.focus()
      return
    }
    setBusy(true)
    setError(null)
    const days = expiry === "never" ? null : Number(expiry)
    const send = async () => {
      const made = await api.post<ApiKeyCreated>(basePath, {
        label: label.trim(),
        expires_at: days ? new Date(Date.now() + days * 86_400_000).toISOString() : null,
        ...(scope !== role ? { scope } : {}),
      })
      onCreated(made)
    }
    try {
      await send()
    } catch (err) {
      const failure = asApiError(err)
      setBusy(false)
      // A key needs a recent sign-in: "Verify it's you", then the same key is asked for again.
      if (failure.reason === "reauthentication_required" && onRefreshRequired) {
        onRefreshRequired(async () => {
          try {
            await send()
          } catch (again) {
            setError(asApiError(again).message)
          }
        })
        return
      }
      setError(failure.message)
    }
  }

  const lower = ["member", "admin", "super_admin"].slice(
    0,
    ["member", "admin", "super_admin"].indexOf(role) + 1,
  )
  return (
    <form
      className="kg-form kg-api-key-form"
      onSubmit={submit}
      noValidate
      data-testid="kg-api-key-form"
    >
      <div className="kg-field">
        <label className="kg-field__label" htmlFor={ids.label}>
          Name
        </label>
        <input
          ref={labelRef}
          id={ids.label}
          className="kg-input"
          maxLength={64}
          placeholder="Front desk kiosk"
          value={label}
          onChange={(e) => {
            setLabel(e.target.value)
            if (error) setError(null)
          }}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? ids.error : undefined}
        />
        {error && (
          <p id={ids.error} className="kg-field__error" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="kg-api-key-form__row">
        <div className="kg-field">
          <label className="kg-field__label" htmlFor={ids.expiry}>
            Expires
          </label>
          <select
            id={ids.expiry}
            className="kg-input"
            value={expiry}
            onChange={(e) => setExpiry(e.target.value)}
          >
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        {lower.length > 1 && (
          <div className="kg-field">
            <label className="kg-field__label" htmlFor={ids.scope}>
              Access
            </label>
            <select
              id={ids.scope}
              className="kg-input"
              value={scope}
              onChange={(e) => setScope(e.target.value)}
            >
              {lower
                .slice()
                .reverse()
                .map((r) => (
                  <option key={r} value={r}>
                    {r === role ? `${owner ? "As them" : "As you"} (${roleName(r)})` : roleName(r)}
                  </option>
                ))}
            </select>
          </div>
        )}
      </div>
      <p className="kg-hint">
        Apps that ask for a second factor don't accept keys. A password change, a two-factor reset
        or a deactivation ends every key.
      </p>
      <div className="kg-form__actions">
        <button type="submit" className="kg-button kg-button--primary" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
        <button type="button" className="kg-button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  )
}

/** The whole key, this once: it is not stored and can't be shown again. */
function NewKey({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const id = useId()
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }
  return (
    <div className="kg-list__item--panel kg-api-key-new" data-testid="kg-api-key-new">
      <h3 className="kg-subtitle">Copy your new key now</h3>
      <p className="kg-hint">
        This is the only time it is shown. Put it on “{created.api_key.label}” as{" "}
        <code>Authorization: Bearer …</code>; if you lose it, revoke it and create another.
      </p>
      <div className="kg-secret">
        <code id={id} className="kg-secret__value" data-testid="kg-api-key-value">
          {created.key}
        </code>
      </div>
      <div className="kg-form__actions">
        <button
          type="button"
          className="kg-button kg-button--small"
          aria-describedby={id}
          onClick={() => void copy()}
        >
          {copied ? "Copied" : "Copy key"}
        </button>
        <button type="button" className="kg-button kg-button--small" onClick={onDone}>
          I've saved it
        </button>
      </div>
    </div>
  )
}

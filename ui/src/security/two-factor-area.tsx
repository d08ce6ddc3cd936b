import type { SettingsFlow, UiNode, UiText, UpdateSettingsFlowBody } from "@ory/client-fetch"
import { useEffect, useId, useRef, useState } from "react"
import { ConfirmDialog, type Confirm } from "../components/confirm-dialog"
import { useToast } from "../components/toaster"
import { csrfToken, submitSettings } from "./flow-submit"
import { formatDate } from "./format"
import type { Retry } from "./reverify-dialog"
import type { SecurityOverview } from "./types"

type Props = {
  flow: SettingsFlow
  overview: SecurityOverview | null
  /** Kratos wants a recent sign-in: the page verifies it and calls `retry` to send it again. */
  onRefreshRequired: (retry: Retry) => void
  /** After a saved change: the overview (status, counts) is read again. */
  onChanged: () => void
}

type Named = { id: string; name: string; addedAt: string | null }

function nodeNamed(flow: SettingsFlow, name: string): UiNode | undefined {
  return flow.ui.nodes.find((n) => "name" in n.attributes && n.attributes.name === name)
}

function nodesNamed(flow: SettingsFlow, name: string): UiNode[] {
  return flow.ui.nodes.filter((n) => "name" in n.attributes && n.attributes.name === name)
}

function inputValue(node: UiNode | undefined): string {
  if (!node || node.attributes.node_type !== "input") return ""
  const v: unknown = node.attributes.value
  return typeof v === "string" ? v : ""
}

/** Kratos's remove buttons carry the key id as value and its name and date in the label. */
function removable(flow: SettingsFlow, name: string): Named[] {
  return nodesNamed(flow, name).map((n) => {
    const context = (n.meta.label?.context ?? {}) as { display_name?: unknown; added_at?: unknown }
    return {
      id: inputValue(n),
      name: typeof context.display_name === "string" ? context.display_name.trim() : "",
      addedAt: typeof context.added_at === "string" ? context.added_at : null,
    }
  })
}

function textNode(flow: SettingsFlow, id: string): UiText | undefined {
  const node = flow.ui.nodes.find(
    (n) => n.attributes.node_type === "text" && n.attributes.id === id,
  )
  return node && node.attributes.node_type === "text" ? node.attributes.text : undefined
}

/** The one-time codes Kratos shows after "regenerate" (context.secrets, else the joined text). */
function shownCodes(flow: SettingsFlow): string[] {
  const text = textNode(flow, "lookup_secret_codes")
  if (!text) return []
  const secrets = (text.context as { secrets?: { text?: unknown }[] } | undefined)?.secrets
  if (Array.isArray(secrets)) {
    return secrets.map((s) => (typeof s.text === "string" ? s.text : "")).filter(Boolean)
  }
  return text.text.split(/,\s*/).filter(Boolean)
}

/** Issuer and account for the otpauth:// link, as Kratos put them in the QR code. */
function totpLabel(flow: SettingsFlow): { issuer: string; account: string } {
  let issuer = "kratos-guard"
  try {
    const options = JSON.parse(inputValue(nodeNamed(flow, "webauthn_register_trigger"))) as {
      publicKey?: { rp?: { name?: unknown } }
    }
    if (typeof options.publicKey?.rp?.name === "string") issuer = options.publicKey.rp.name
  } catch {
    // No WebAuthn options in this flow: the project's default issuer.
  }
  const traits = (flow.identity?.traits ?? {}) as { email?: unknown }
  return { issuer, account: typeof traits.email === "string" ? traits.email : "" }
}

function otpauthUrl(secret: string, { issuer, account }: { issuer: string; account: string }) {
  const label = encodeURIComponent(account ? `${issuer}:${account}` : issuer)
  const params = new URLSearchParams({
    secret,
    issuer,
    algorithm: "SHA1",
    digits: "6",
    period: "30",
  })
  return `otpauth://totp/${label}?${params}`
}

/** Messages Kratos (or the service's hooks) attached to the answer: a refusal, a bad code. */
function problemsIn(flow: SettingsFlow): UiText[] {
  const all = [...(flow.ui.messages ?? []), ...flow.ui.nodes.flatMap((n) => n.messages)]
  return all.filter((m) => m.type === "error")
}

/**
 * Kratos's WebAuthn script, from the flow's own script node: the security-key and passkey
 * buttons call the functions it defines, which submit the surrounding form themselves.
 */
function useWebAuthnScript(flow: SettingsFlow) {
  const node = flow.ui.nodes.find(
    (n) => n.attributes.node_type === "script" && n.attributes.id === "webauthn_script",
  )
  const src = node && node.attributes.node_type === "script" ? node.attributes.src : null
  const attrs = node && node.attributes.node_type === "script" ? node.attributes : null
  useEffect(() => {
    if (!src || !attrs) return
    if (document.querySelector(`script[src="${CSS.escape(src)}"]`)) return
    const script = document.createElement("script")
    script.src = src
    script.async = true
    if (attrs.integrity) script.integrity = attrs.integrity
    if (attrs.crossorigin) script.crossOrigin = attrs.crossorigin
    if (attrs.referrerpolicy) script.referrerPolicy = attrs.referrerpolicy
    if (attrs.nonce) script.nonce = attrs.nonce
    document.body.append(script)
  }, [src, attrs])
}

/**
 * The two-factor methods as one list, built on the settings flow's nodes (the way the password
 * card is): named methods with labelled Remove buttons behind a confirmation, a guided
 * authenticator setup, recovery codes shown once, and Disable 2FA unless policy requires it.
 * Each change is one submission of one Kratos strategy: `method` and that strategy's fields.
 */
export function TwoFactorArea({ flow: initial, overview, onRefreshRequired, onChanged }: Props) {
  const notify = useToast()
  const [flow, setFlowState] = useState(initial)
  // Disable 2FA submits several times in a row: each submission uses the newest answer.
  const latest = useRef(initial)
  const setFlow = (f: SettingsFlow) => {
    latest.current = f
    setFlowState(f)
  }
  const [busy, setBusy] = useState(false)
  const [problems, setProblems] = useState<UiText[]>([])
  const [settingUp, setSettingUp] = useState(false)
  const [codes, setCodes] = useState<string[] | null>(null)
  const [confirm, setConfirm] = useState<Confirm | null>(null)
  const ids = { problems: useId() }
  useWebAuthnScript(flow)

  const tf = overview?.two_factor
  const required = tf?.required ?? false
  const hasTotp = !!nodeNamed(flow, "totp_unlink")
  const keys = removable(flow, "webauthn_remove")
  const passkeys = removable(flow, "passkey_remove")
  const realFactors = (hasTotp ? 1 : 0) + keys.length
  const hasCodes = !!nodeNamed(flow, "lookup_secret_disable")
  const codesLeft = tf?.recovery_codes_left ?? 0
  const codesTotal = tf?.recovery_codes_total ?? 0
  // Policy keeps at least one app or key: the last one has no Remove button (the service
  // refuses it anyway), and the reason is said once, next to Disable.
  const canRemoveFactor = !required || realFactors > 1

  /** One submission; answers whether it was saved. */
  const submit = async (body: Record<string, unknown>, saved: string): Promise<boolean> => {
    setBusy(true)
    setProblems([])
    const current = latest.current
    const result = await submitSettings(current, {
      ...body,
      csrf_token: csrfToken(current),
    } as UpdateSettingsFlowBody)
    setBusy(false)
    if (result.kind === "saved") {
      setFlow(result.flow)
      if (saved) notify("success", saved)
      onChanged()
      return true
    }
    if (result.kind === "invalid") {
      setFlow(result.flow)
      const found = problemsIn(result.flow)
      setProblems(found.length ? found : [{ id: 0, type: "error", text: "That didn't work." }])
    } else if (result.kind === "refresh_required") {
      onRefreshRequired(async () => {
        await submit(body, saved)
      })
    } else if (result.kind === "failed") {
      notify("error", result.message)
    }
    return false
  }

  /** New codes from Kratos, shown once; they count only after "I've saved them". */
  const regenerate = async () => {
    setBusy(true)
    setProblems([])
    const current = latest.current
    const result = await submitSettings(current, {
      method: "lookup_secret",
      lookup_secret_regenerate: true,
      csrf_token: csrfToken(current),
    } as UpdateSettingsFlowBody)
    setBusy(false)
    if (result.kind === "saved") {
      setFlow(result.flow)
      setCodes(shownCodes(result.flow))
    } else if (result.kind === "invalid") {
      setFlow(result.flow)
      setProblems(problemsIn(result.flow))
    } else if (result.kind === "refresh_required") {
      onRefreshRequired(regenerate)
    } else if (result.kind === "failed") {
      notify("error", result.message)
    }
  }

  const disableAll = async () => {
    // Keys first, the app and the codes last: a failure part-way leaves a second factor.
    for (const key of keys) {
      if (!(await submit({ method: "webauthn", webauthn_remove: key.id }, ""))) return
    }
    if (hasTotp && !(await submit({ method: "totp", totp_unlink: true }, ""))) return
    if (hasCodes && !(await submit({ method: "lookup_secret", lookup_secret_disable: true }, "")))
      return
    notify("success", "Two-factor authentication is off. Sign-in asks for your password only.")
  }

  const ask = (c: Confirm) => setConfirm(c)
  const keyLabel = (k: Named, kind: string) => k.name || `${kind} added ${formatDate(k.addedAt)}`

  return (
    <div className="kg-2fa-area" data-testid="kg-2fa-area">
      <div id={ids.problems} aria-live="assertive">
        {problems.map((m, i) => (
          <p
            key={`${m.id}-${i}`}
            className="kg-notice kg-notice--error"
            role="alert"
            data-testid={`kg-message-${m.id}`}
          >
            {m.text}
          </p>
        ))}
      </div>

      <ul className="kg-list kg-methods" aria-label="Your two-factor methods">
        <li className="kg-list__item" data-testid="kg-method-totp">
          <div className="kg-list__main">
            <p className="kg-list__title">Authenticator app</p>
            <p className="kg-list__meta">
              {hasTotp
                ? `Codes from an app on your phone. Added ${formatDate(tf?.methods.find((m) => m.type === "totp")?.enrolled_at ?? null)}.`
                : "Not set up. Use an app such as 1Password, Authy, Google or Microsoft Authenticator."}
            </p>
          </div>
          {hasTotp
            ? canRemoveFactor && (
                <button
                  type="button"
                  className="kg-button kg-button--small kg-button--danger"
                  aria-label="Remove authenticator app"
                  disabled={busy}
                  onClick={() =>
                    ask({
                      title: "Remove the authenticator app?",
                      body: "Codes from the app will no longer be accepted at sign-in.",
                      action: "Remove app",
                      run: async () => {
                        await submit(
                          { method: "totp", totp_unlink: true },
                          "Authenticator app removed.",
                        )
                      },
                    })
                  }
                >
                  Remove
                </button>
              )
            : !settingUp && (
                <button
                  type="button"
                  className="kg-button kg-button--small kg-button--primary"
                  onClick={() => setSettingUp(true)}
                >
                  Set up
                </button>
              )}
        </li>
        {!hasTotp && settingUp && (
          <li className="kg-list__item kg-list__item--panel">
            <TotpSetup
              flow={flow}
              busy={busy}
              onCancel={() => setSettingUp(false)}
              onVerify={async (code) => {
                const ok = await submit(
                  { method: "totp", totp_code: code },
                  "Authenticator app added.",
                )
                if (!ok) return
                setSettingUp(false)
                // First second factor: offer the codes straight away, shown once.
                if (!hasCodes) await regenerate()
              }}
            />
          </li>
        )}

        {keys.map((k) => (
          <li className="kg-list__item" key={k.id} data-testid="kg-method-key">
            <div className="kg-list__main">
              <p className="kg-list__title">Security key: {keyLabel(k, "Key")}</p>
              <p className="kg-list__meta">Added {formatDate(k.addedAt)}.</p>
            </div>
            {canRemoveFactor && (
              <button
                type="button"
                className="kg-button kg-button--small kg-button--danger"
                aria-label={`Remove security key ${keyLabel(k, "Key")}`}
                disabled={busy}
                onClick={() =>
                  ask({
                    title: `Remove the security key "${keyLabel(k, "Key")}"?`,
                    body: "It will no longer work as a second step at sign-in.",
                    action: "Remove key",
                    run: async () => {
                      await submit(
                        { method: "webauthn", webauthn_remove: k.id },
                        "Security key removed.",
                      )
                    },
                  })
                }
              >
                Remove
              </button>
            )}
          </li>
        ))}

        {passkeys.map((k) => (
          <li className="kg-list__item" key={k.id} data-testid="kg-method-passkey">
            <div className="kg-list__main">
              <p className="kg-list__title">Passkey: {keyLabel(k, "Passkey")}</p>
              <p className="kg-list__meta">
                Signs you in without a password. Added {formatDate(k.addedAt)}.
              </p>
            </div>
            <button
              type="button"
              className="kg-button kg-button--small kg-button--danger"
              aria-label={`Remove passkey ${keyLabel(k, "Passkey")}`}
              disabled={busy}
              onClick={() =>
                ask({
                  title: "Remove this passkey?",
                  body: "You'll sign in with your password (and second step) instead.",
                  action: "Remove passkey",
                  run: async () => {
                    await submit({ method: "passkey", passkey_remove: k.id }, "Passkey removed.")
                  },
                })
              }
            >
              Remove
            </button>
          </li>
        ))}

        <li className="kg-list__item" data-testid="kg-method-codes">
          <div className="kg-list__main">
            <p className="kg-list__title">Recovery codes</p>
            <p className="kg-list__meta" data-testid="kg-codes-left">
              {hasCodes && codesTotal
                ? `${codesLeft} of ${codesTotal} left. Each signs you in once if you lose your phone or key.`
                : "Not generated. One-time codes for when your phone or key is not at hand."}
            </p>
          </div>
          <div className="kg-list__actions">
            <button
              type="button"
              className="kg-button kg-button--small"
              disabled={busy || codes !== null}
              onClick={() =>
                hasCodes
                  ? ask({
                      title: "Regenerate recovery codes?",
                      body: "New codes replace the old ones once you've saved them; the old ones stop working then.",
                      action: "Show new codes",
                      run: regenerate,
                    })
                  : void regenerate()
              }
            >
              {hasCodes ? "Regenerate recovery codes" : "Generate recovery codes"}
            </button>
            {hasCodes && !required && (
              <button
                type="button"
                className="kg-button kg-button--small kg-button--danger"
                aria-label="Turn off recovery codes"
                disabled={busy}
                onClick={() =>
                  ask({
                    title: "Turn off recovery codes?",
                    body: "Your remaining codes stop working.",
                    action: "Turn off",
                    run: async () => {
                      await submit(
                        { method: "lookup_secret", lookup_secret_disable: true },
                        "Recovery codes turned off.",
                      )
                    },
                  })
                }
              >
                Turn off
              </button>
            )}
          </div>
        </li>
        {codes !== null && (
          <li className="kg-list__item kg-list__item--panel">
            <RecoveryCodesOnce
              codes={codes}
              busy={busy}
              onSaved={async () => {
                const ok = await submit(
                  { method: "lookup_secret", lookup_secret_confirm: true },
                  "Recovery codes saved.",
                )
                if (ok) setCodes(null)
              }}
              onCancel={() => setCodes(null)}
            />
          </li>
        )}
      </ul>

      <div className="kg-2fa-add">
        <SecurityKeyForm flow={flow} busy={busy} />
        <PasskeyForm flow={flow} busy={busy} />
      </div>

      <div className="kg-2fa-disable">
        {tf?.enabled &&
          (required ? (
            <p className="kg-hint" data-testid="kg-2fa-disable-reason">
              There is no Disable button: your{" "}
              {tf.required_by === "role" ? "role requires" : "organisation requires"} two-factor
              authentication. An administrator can reset it if you lose every method.
            </p>
          ) : (
            <button
              type="button"
              className="kg-button kg-button--danger"
              disabled={busy}
              onClick={() =>
                ask({
                  title: "Disable two-factor authentication?",
                  body: "Your authenticator app, security keys and recovery codes are removed. Sign-in will ask for your password only; passkeys stay.",
                  action: "Disable 2FA",
                  run: disableAll,
                })
              }
            >
              Disable 2FA
            </button>
          ))}
      </div>

      <ConfirmDialog confirm={confirm} onClose={() => setConfirm(null)} />
    </div>
  )
}

function TotpSetup({
  flow,
  busy,
  onVerify,
  onCancel,
}: {
  flow: SettingsFlow
  busy: boolean
  onVerify: (code: string) => Promise<void>
  onCancel: () => void
}) {
  const ids = { code: useId(), secret: useId() }
  const [code, setCode] = useState("")
  const [copied, setCopied] = useState(false)
  const qr =
    nodeNamed(flow, "totp_qr") ?? flow.ui.nodes.find((n) => n.attributes.node_type === "img")
  const qrSrc = qr && qr.attributes.node_type === "img" ? qr.attributes.src : null
  const secret = textNode(flow, "totp_secret_key")?.text ?? ""
  const link = secret ? otpauthUrl(secret, totpLabel(flow)) : null
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }
  return (
    <form
      className="kg-totp-setup"
      data-testid="kg-totp-setup"
      onSubmit={(e) => {
        e.preventDefault()
        if (code.trim()) void onVerify(code.trim())
      }}
    >
      <h3 className="kg-subtitle">Set up your authenticator app</h3>
      <ol className="kg-steps">
        <li>
          <p>Scan this QR code with the app.</p>
          {qrSrc && (
            <img
              className="kg-totp-setup__qr"
              src={qrSrc}
              alt="QR code for your authenticator app"
            />
          )}
        </li>
        <li>
          <p>
            Or, on this phone,{" "}
            {link && (
              <a href={link} data-testid="kg-totp-link">
                open it in your authenticator app
              </a>
            )}
            , or type this key into it:
          </p>
          <div className="kg-secret">
            <code id={ids.secret} className="kg-secret__value" data-testid="kg-totp-secret">
              {secret}
            </code>
            <button
              type="button"
              className="kg-button kg-button--small"
              aria-describedby={ids.secret}
              onClick={() => void copy()}
            >
              {copied ? "Copied" : "Copy key"}
            </button>
          </div>
        </li>
        <li>
          <label className="kg-field__label" htmlFor={ids.code}>
            Enter the 6-digit code the app shows
          </label>
          <input
            id={ids.code}
            name="totp_code"
            className="kg-input kg-input--code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]*"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\s/g, ""))}
          />
        </li>
      </ol>
      <div className="kg-form__actions">
        <button type="submit" className="kg-button kg-button--primary" disabled={busy || !code}>
          {busy ? "Checking…" : "Verify and turn on"}
        </button>
        <button type="button" className="kg-button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  )
}

function RecoveryCodesOnce({
  codes,
  busy,
  onSaved,
  onCancel,
}: {
  codes: string[]
  busy: boolean
  onSaved: () => Promise<void>
  onCancel: () => void
}) {
  const [copied, setCopied] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  const text = codes.join("\n")
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }
  const download = () => {
    const url = URL.createObjectURL(new Blob([`${text}\n`], { type: "text/plain" }))
    const a = document.createElement("a")
    a.href = url
    a.download = "recovery-codes.txt"
    a.click()
    URL.revokeObjectURL(url)
  }
  return (
    <div className="kg-codes-once" data-testid="kg-codes-once">
      <h3 className="kg-subtitle" tabIndex={-1} ref={heading}>
        Save your recovery codes
      </h3>
      <p className="kg-hint">
        They are shown only now. Keep them somewhere safe, away from your phone: each one signs you
        in once if you lose your authenticator.
      </p>
      <ul className="kg-codes" aria-label="Recovery codes" data-testid="kg-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <div className="kg-form__actions">
        <button type="button" className="kg-button" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy codes"}
        </button>
        <button type="button" className="kg-button" onClick={download}>
          Download
        </button>
        <button
          type="button"
          className="kg-button kg-button--primary"
          disabled={busy}
          onClick={() => void onSaved()}
        >
          I've saved them
        </button>
        <button type="button" className="kg-link-button" onClick={onCancel} disabled={busy}>
          Not now (the codes are not kept)
        </button>
      </div>
    </div>
  )
}

/**
 * A real form: Kratos's script fills `webauthn_register` and submits the form around the
 * trigger itself. It holds that strategy's fields only.
 */
function SecurityKeyForm({ flow, busy }: { flow: SettingsFlow; busy: boolean }) {
  const id = useId()
  const trigger = nodeNamed(flow, "webauthn_register_trigger")
  if (!trigger) return null
  const options = inputValue(trigger)
  return (
    <form
      className="kg-add-form"
      action={flow.ui.action}
      method="POST"
      data-testid="kg-add-key"
      onSubmit={(e) => e.preventDefault()}
    >
      <input type="hidden" name="csrf_token" value={csrfToken(flow)} />
      <input type="hidden" name="method" value="webauthn" />
      <input type="hidden" name="webauthn_register" defaultValue="" />
      <label className="kg-field__label" htmlFor={id}>
        Add a security key
      </label>
      <div className="kg-add-form__row">
        <input
          id={id}
          name="webauthn_register_displayname"
          className="kg-input"
          placeholder="Name, e.g. Blue USB key"
          autoComplete="off"
        />
        <button
          type="button"
          name="webauthn_register_trigger"
          value={options}
          className="kg-button"
          disabled={busy}
          onClick={() => callScript("oryWebAuthnRegistration", options)}
        >
          Add security key
        </button>
      </div>
    </form>
  )
}

function PasskeyForm({ flow, busy }: { flow: SettingsFlow; busy: boolean }) {
  const trigger = nodeNamed(flow, "passkey_register_trigger")
  if (!trigger) return null
  return (
    <form
      className="kg-add-form"
      action={flow.ui.action}
      method="POST"
      data-testid="kg-add-passkey"
      onSubmit={(e) => e.preventDefault()}
    >
      <input type="hidden" name="csrf_token" value={csrfToken(flow)} />
      <input type="hidden" name="method" value="passkey" />
      <input
        type="hidden"
        name="passkey_create_data"
        value={inputValue(nodeNamed(flow, "passkey_create_data"))}
      />
      <input type="hidden" name="passkey_settings_register" defaultValue="" />
      <p className="kg-field__label">Add a passkey</p>
      <p className="kg-hint">Sign in with this device's screen lock instead of your password.</p>
      <button
        type="button"
        name="passkey_register_trigger"
        className="kg-button"
        disabled={busy}
        onClick={() => callScript("oryPasskeySettingsRegistration")}
      >
        Add passkey
      </button>
    </form>
  )
}

/** Calls a function Kratos's WebAuthn script defines (it may still be loading: try briefly). */
function callScript(name: string, arg?: string) {
  const start = Date.now()
  const attempt = () => {
    const fn = (window as unknown as Record<string, unknown>)[name]
    if (typeof fn === "function") {
      ;(fn as (o?: unknown) => void)(arg ? JSON.parse(arg) : undefined)
    } else if (Date.now() - start < 5000) {
      window.setTimeout(attempt, 100)
    }
  }
  attempt()
}

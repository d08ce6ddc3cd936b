import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react"
import { api, type ApiError } from "../api"
import { useConsole } from "./admin-console"
import { InlineError, Link, useToast } from "./components"
import { asApiError, formatDateTime, shortId } from "./lib"
import { roleLabels, roles, type OrgPolicy, type Role } from "./types"
import {
  personNotificationKinds,
  personNotificationLabels,
  type PersonNotificationKind,
} from "../../../webhooks/policy/notification-choices"

type Draft = {
  roles_requiring_2fa: Role[]
  require_2fa_for_everyone: boolean
  grace: string
  rotate: boolean
  rotationDays: string
  sso_required: boolean
  mandatory: PersonNotificationKind[]
}

const MAX_GRACE_HOURS = 24 * 90

function draftOf(p: OrgPolicy): Draft {
  return {
    roles_requiring_2fa: p.roles_requiring_2fa,
    require_2fa_for_everyone: p.require_2fa_for_everyone,
    grace: String(p.mfa_grace_period_hours),
    rotate: p.password_rotation_days !== null,
    rotationDays: String(p.password_rotation_days ?? 90),
    sso_required: p.sso_required,
    mandatory: personNotificationKinds.filter((k) =>
      (p.mandatory_notifications as string[]).includes(k),
    ),
  }
}

function wholeNumber(text: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(text.trim())) return null
  const n = Number(text.trim())
  return n >= min && n <= max ? n : null
}

export function CompliancePage() {
  const { policy, setPolicy, viewer } = useConsole()
  const toast = useToast()
  const editable = viewer.role === "super_admin"
  const [draft, setDraft] = useState<Draft>(() => draftOf(policy))
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [touched, setTouched] = useState(false)
  const ids = { grace: useId(), rotation: useId(), legend: useId(), mails: useId() }
  useEffect(() => setDraft(draftOf(policy)), [policy])

  const grace = wholeNumber(draft.grace, 0, MAX_GRACE_HOURS)
  const rotation = draft.rotate ? wholeNumber(draft.rotationDays, 1, 3650) : null
  const graceError = grace === null ? `Enter whole hours from 0 to ${MAX_GRACE_HOURS}.` : null
  const rotationError =
    draft.rotate && rotation === null ? "Enter whole days from 1 to 3650." : null
  const dirty = JSON.stringify(draft) !== JSON.stringify(draftOf(policy))

  const save = async (e: FormEvent) => {
    e.preventDefault()
    setTouched(true)
    if (graceError || rotationError) return
    setPending(true)
    setError(null)
    try {
      const saved = await api.put<OrgPolicy>("/api/admin/policy", {
        roles_requiring_2fa: draft.roles_requiring_2fa,
        require_2fa_for_everyone: draft.require_2fa_for_everyone,
        mfa_grace_period_hours: grace,
        password_rotation_days: rotation,
        sso_required: draft.sso_required,
        mandatory_notifications: draft.mandatory,
      })
      setPolicy(saved)
      toast("Policy saved. It applies from the next sign-in or page load.")
      setTouched(false)
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setPending(false)
    }
  }

  const toggleRole = (role: Role, on: boolean) =>
    setDraft((d) => ({
      ...d,
      roles_requiring_2fa: on
        ? roles.filter((r) => r === role || d.roles_requiring_2fa.includes(r))
        : d.roles_requiring_2fa.filter((r) => r !== role),
    }))

  const toggleMandatory = (kind: PersonNotificationKind, on: boolean) =>
    setDraft((d) => ({
      ...d,
      mandatory: personNotificationKinds.filter((k) => (k === kind ? on : d.mandatory.includes(k))),
    }))

  return (
    <section aria-labelledby="kg-compliance-title">
      <div className="kg-admin-toolbar">
        <div>
          <h2 id="kg-compliance-title" className="kg-admin-section-title">
            Compliance
          </h2>
          <p className="kg-admin-muted">
            {policy.updated_at === null ? (
              "Organisation policy: the defaults, never changed"
            ) : (
              <>Organisation policy. Last changed {formatDateTime(policy.updated_at)}</>
            )}
            {policy.updated_at !== null && policy.updated_by && (
              <>
                {" "}
                by{" "}
                <Link href={`/admin/users/${policy.updated_by}`} title={policy.updated_by}>
                  {policy.updated_by === viewer.id ? "you" : shortId(policy.updated_by)}
                </Link>
              </>
            )}
            .
          </p>
        </div>
      </div>

      {!editable && (
        <div className="kg-admin-notice" role="note">
          You can read the policy. Only a super admin can change it, because it decides who may sign
          in without a second factor.
        </div>
      )}

      <form className="kg-admin-panel kg-admin-policy" onSubmit={save} noValidate>
        <fieldset disabled={!editable || pending} className="kg-admin-fieldset">
          <PolicyGroup
            title="Two-factor authentication"
            titleId={ids.legend}
            intro="People covered by the policy must enrol a second factor, and can't remove their last one."
          >
            <label className="kg-admin-check">
              <input
                type="checkbox"
                checked={draft.require_2fa_for_everyone}
                onChange={(e) => setDraft({ ...draft, require_2fa_for_everyone: e.target.checked })}
              />
              <span>
                <span className="kg-admin-check__label">Require for everyone</span>
                <span className="kg-admin-hint">Every account, whatever its role.</span>
              </span>
            </label>
            <div role="group" aria-labelledby={`${ids.legend}-roles`}>
              <p className="kg-admin-label" id={`${ids.legend}-roles`}>
                Roles that require it
              </p>
              <div className="kg-admin-check-row">
                {roles.map((r) => (
                  <label key={r} className="kg-admin-check kg-admin-check--pill">
                    <input
                      type="checkbox"
                      checked={
                        draft.require_2fa_for_everyone || draft.roles_requiring_2fa.includes(r)
                      }
                      disabled={draft.require_2fa_for_everyone}
                      onChange={(e) => toggleRole(r, e.target.checked)}
                    />
                    <span className="kg-admin-check__label">{roleLabels[r]}</span>
                  </label>
                ))}
              </div>
            </div>
            <WholeNumberField
              id={ids.grace}
              label="Grace period to enrol (hours)"
              value={draft.grace}
              error={touched ? graceError : null}
              hint="Time someone has to set up 2FA once it becomes required. 0 means at once."
              onChange={(grace) => setDraft({ ...draft, grace })}
            />
          </PolicyGroup>

          <PolicyGroup
            title="Passwords"
            intro="Current guidance (NIST, NCSC) advises against routine expiry; use it only when a regulation asks for it."
          >
            <label className="kg-admin-check">
              <input
                type="checkbox"
                checked={draft.rotate}
                onChange={(e) => setDraft({ ...draft, rotate: e.target.checked })}
              />
              <span>
                <span className="kg-admin-check__label">Require periodic password changes</span>
              </span>
            </label>
            {draft.rotate && (
              <WholeNumberField
                id={ids.rotation}
                label="Change every (days)"
                value={draft.rotationDays}
                error={touched ? rotationError : null}
                hint="From 1 to 3650 days."
                onChange={(rotationDays) => setDraft({ ...draft, rotationDays })}
              />
            )}
          </PolicyGroup>

          <PolicyGroup
            title="Password changes"
            intro="No identity provider is connected: this setting doesn't change how people sign in."
          >
            <label className="kg-admin-check">
              <input
                type="checkbox"
                checked={draft.sso_required}
                onChange={(e) => setDraft({ ...draft, sso_required: e.target.checked })}
              />
              <span>
                <span className="kg-admin-check__label">Lock passwords</span>
                <span className="kg-admin-check__hint">
                  People can't set or change their own password (the Security page hides it, and the
                  service refuses a change). Sign-in with the existing password keeps working.
                </span>
              </span>
            </label>
          </PolicyGroup>

          <PolicyGroup
            title="Security emails"
            titleId={ids.mails}
            intro="People choose which emails about their own account they get, on their Notifications page. The ones ticked here stay on for everyone and show as required by your organisation."
          >
            <div role="group" aria-labelledby={ids.mails} className="kg-admin-check-list">
              {personNotificationKinds.map((k) => (
                <label key={k} className="kg-admin-check">
                  <input
                    type="checkbox"
                    checked={draft.mandatory.includes(k)}
                    onChange={(e) => toggleMandatory(k, e.target.checked)}
                  />
                  <span>
                    <span className="kg-admin-check__label">
                      {personNotificationLabels[k].label}
                    </span>
                    <span className="kg-admin-hint">{personNotificationLabels[k].description}</span>
                  </span>
                </label>
              ))}
            </div>
            <p className="kg-admin-hint">Mails to managers and the security team always go out.</p>
          </PolicyGroup>
        </fieldset>

        {editable && (
          <div className="kg-admin-form-footer">
            <InlineError error={error} />
            <div className="kg-admin-actions">
              <button
                type="button"
                className="kg-button"
                disabled={!dirty || pending}
                onClick={() => {
                  setDraft(draftOf(policy))
                  setTouched(false)
                }}
              >
                Discard changes
              </button>
              <button
                type="submit"
                className="kg-button kg-button--primary"
                disabled={!dirty || pending}
              >
                {pending ? "Saving…" : "Save policy"}
              </button>
            </div>
          </div>
        )}
      </form>
    </section>
  )
}

/** A short numeric input whose hint turns into the error under it once there is one. */
function WholeNumberField(props: {
  id: string
  label: string
  value: string
  error: string | null | undefined
  hint: string
  onChange: (value: string) => void
}) {
  const { id, label, value, error, hint, onChange } = props
  return (
    <div className="kg-admin-field">
      <label className="kg-admin-label" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        className="kg-admin-input kg-admin-input--short"
        inputMode="numeric"
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-hint`}
        onChange={(e) => onChange(e.target.value)}
      />
      <span id={`${id}-hint`} className={error ? "kg-admin-field-error" : "kg-admin-hint"}>
        {error || hint}
      </span>
    </div>
  )
}

/** One part of the policy: what it is about on the left, its controls on the right. */
function PolicyGroup(props: {
  title: string
  titleId?: string
  intro: string
  children: ReactNode
}) {
  return (
    <div className="kg-admin-policy__group">
      <div className="kg-admin-policy__intro">
        <h3 className="kg-admin-panel__title" id={props.titleId}>
          {props.title}
        </h3>
        <p className="kg-admin-muted">{props.intro}</p>
      </div>
      <div className="kg-admin-policy__controls">{props.children}</div>
    </div>
  )
}

import type {
  OryFlowComponentOverrides,
  OryNodeButtonProps,
  OrySettingsRecoveryCodesProps,
  OrySettingsTotpProps,
} from "@ory/elements-react"
import { getOryComponents, Settings } from "@ory/elements-react/theme"
import type { SettingsFlow } from "@ory/client-fetch"
import { useMemo, useState } from "react"
import { Loading } from "../components/flow-status"
import { oryConfig } from "../ory.config"
import { formatDate, formatDateTime } from "./format"
import type { SecurityOverview } from "./types"

const defaults = getOryComponents()

/** Buttons that would leave a 2FA-required user without a second factor. */
const disablingButtons = new Set(["totp_unlink", "lookup_secret_disable"])

/** Kratos's code grid, plus a way to copy the codes and a reminder of what they are for. */
function RecoveryCodes(props: OrySettingsRecoveryCodesProps) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.codes.join("\n"))
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }
  return (
    <>
      <defaults.Form.RecoveryCodesSettings {...props} />
      {props.codes.length > 0 && (
        <div className="kg-codes-help" data-testid="kg-codes-help">
          <p>
            Keep these codes somewhere safe, away from your phone. Each one signs you in once if you
            lose your authenticator.
          </p>
          <button type="button" className="kg-button kg-button--small" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy codes"}
          </button>
        </div>
      )}
    </>
  )
}

function overridesFor(required: boolean): OryFlowComponentOverrides {
  return {
    Page: { Header: () => null },
    Form: { RecoveryCodesSettings: RecoveryCodes },
    ...(required && {
      Node: {
        Button: (props: OryNodeButtonProps) =>
          disablingButtons.has(props.node.attributes.name) ? null : (
            <defaults.Node.Button {...props} />
          ),
      },
      Form: {
        RecoveryCodesSettings: RecoveryCodes,
        TotpSettings: (props: OrySettingsTotpProps) => (
          <defaults.Form.TotpSettings {...props} totpUnlink={undefined} />
        ),
      },
    }),
  }
}

type TwoFactorCardProps = {
  flow: SettingsFlow
  overview: SecurityOverview | null
  /** The overview has loaded or failed: the forms can render (the service still enforces). */
  settled: boolean
}

/**
 * Status and policy of the second factor, then Kratos's own forms for the authenticator app,
 * recovery codes, security keys and passkeys (profile and password are hidden here by CSS; they
 * live elsewhere on the page).
 */
export function TwoFactorCard({ flow, overview, settled }: TwoFactorCardProps) {
  const tf = overview?.two_factor
  const required = tf?.required ?? false
  const components = useMemo(() => overridesFor(required), [required])
  const totp = tf?.methods.find((m) => m.type === "totp")
  const keys = tf?.methods.filter((m) => m.type === "webauthn") ?? []

  return (
    <section className="kg-section" aria-labelledby="kg-2fa-title" data-testid="kg-2fa">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-2fa-title" className="kg-section__title">
            Two-factor authentication
          </h2>
          <p className="kg-section__description">
            A second step at sign-in — a code from an app, or a security key — so a stolen password
            is not enough.
          </p>
        </div>
        {tf && (
          <span
            className={`kg-pill ${tf.enabled ? "kg-pill--on" : "kg-pill--off"}`}
            data-testid="kg-2fa-status"
          >
            {tf.recovery_codes_only ? "Recovery codes only" : tf.enabled ? "Enabled" : "Disabled"}
          </span>
        )}
      </header>

      {tf && (
        <dl className="kg-facts">
          <div>
            <dt>Authenticator app</dt>
            <dd>{totp ? `Added ${formatDate(totp.enrolled_at)}` : "Not set up"}</dd>
          </div>
          <div>
            <dt>Security keys</dt>
            <dd>{keys.length ? `${keys.length} registered` : "None"}</dd>
          </div>
          <div>
            <dt>Recovery codes</dt>
            <dd data-testid="kg-codes-left">
              {tf.recovery_codes_total
                ? `${tf.recovery_codes_left} of ${tf.recovery_codes_total} left`
                : "Not generated"}
            </dd>
          </div>
        </dl>
      )}

      {required && (
        <p className="kg-notice kg-notice--info" data-testid="kg-2fa-required">
          {tf?.required_by === "role"
            ? `Two-factor authentication is required for your role (${overview?.role.replace("_", " ")}).`
            : "Your organisation requires two-factor authentication for everyone."}{" "}
          {tf?.enabled && !tf.recovery_codes_only
            ? "You can add or replace methods, but not turn it off; if you lose them all, an administrator can reset it."
            : tf?.enrolment_deadline && !tf.enrolment_overdue
              ? `Set it up by ${formatDateTime(tf.enrolment_deadline)}.`
              : "Set it up now."}
        </p>
      )}
      {tf?.recovery_codes_only && (
        <p className="kg-notice kg-notice--warn" data-testid="kg-2fa-codes-only">
          Sign-in still asks for a second step: one of your recovery codes. Each works once, so add
          an authenticator app or a security key
          {required ? " — your organisation's requirement needs one of them" : ""}, or turn recovery
          codes off to sign in with your password alone.
        </p>
      )}
      {tf?.enabled && tf.recovery_codes_total > 0 && tf.recovery_codes_left <= 3 && (
        <p className="kg-notice kg-notice--warn">
          Only {tf.recovery_codes_left} recovery codes left. Generate new ones and keep them
          somewhere safe.
        </p>
      )}

      {/* Kratos's forms wait for the policy: which buttons exist depends on it, and swapping the
          overrides later would remount the forms and drop what the user typed. */}
      <div className="kg-2fa-forms">
        {settled ? (
          <Settings
            key={flow.id}
            flow={flow}
            config={oryConfig}
            components={components}
            className="kg-settings"
          />
        ) : (
          <Loading label="Loading two-factor settings…" />
        )}
      </div>

      <details className="kg-details kg-troubleshoot">
        <summary>Trouble with two-factor?</summary>
        <ul>
          <li>
            <strong>Code rejected:</strong> your phone's clock may be off by more than 30 seconds.
            Turn on automatic date and time, then try a fresh code.
          </li>
          <li>
            <strong>QR code expired:</strong> the page was open too long. Reload it to get a new
            code.
          </li>
          <li>
            <strong>Lost your phone and your recovery codes:</strong> contact an administrator to
            reset two-factor authentication for you.
          </li>
        </ul>
      </details>
    </section>
  )
}

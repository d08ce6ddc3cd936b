import type { SettingsFlow } from "@ory/client-fetch"
import { Loading } from "../components/flow-status"
import { formatDateTime } from "./format"
import { TwoFactorArea } from "./two-factor-area"
import type { Retry } from "./reverify-dialog"
import type { SecurityOverview } from "./types"

type TwoFactorCardProps = {
  flow: SettingsFlow
  overview: SecurityOverview | null
  /** The overview has loaded or failed: the forms can render (the service still enforces). */
  settled: boolean
  onRefreshRequired: (retry: Retry) => void
  onChanged: () => void
}

/** Status and policy of the second factor, then our own list of methods (TwoFactorArea). */
export function TwoFactorCard({
  flow,
  overview,
  settled,
  onRefreshRequired,
  onChanged,
}: TwoFactorCardProps) {
  const tf = overview?.two_factor
  const required = tf?.required ?? false

  return (
    <section className="kg-section" aria-labelledby="kg-2fa-title" data-testid="kg-2fa">
      <header className="kg-section__header">
        <div>
          <h2 id="kg-2fa-title" className="kg-section__title">
            Two-factor authentication
          </h2>
          <p className="kg-section__description">
            A second step at sign-in (a code from an app, or a security key), so a stolen password
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

      {/* The list waits for the policy: which buttons exist depends on it. */}
      {settled ? (
        <TwoFactorArea
          key={flow.id}
          flow={flow}
          overview={overview}
          onRefreshRequired={onRefreshRequired}
          onChanged={onChanged}
        />
      ) : (
        <Loading label="Loading two-factor settings…" />
      )}

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
            <strong>Lost your phone and your recovery codes:</strong> if you can still sign in here,
            remove the lost method above and set up a new one. Otherwise,{" "}
            <a href="/lost-device">Lost your device?</a> asks an administrator to reset two-factor
            authentication for you.
          </li>
        </ul>
      </details>
    </section>
  )
}

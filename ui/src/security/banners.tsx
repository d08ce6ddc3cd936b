import { formatDateTime } from "./format"
import type { SecurityOverview } from "./types"

/** The forced change and enrolment deadlines, at the top of the Security page. */
export function SecurityBanners({
  overview,
  reason,
}: {
  overview: SecurityOverview | null
  reason: string | null
}) {
  const forced = overview ? overview.force_password_change.required : reason === "force_change"
  const tf = overview?.two_factor
  const mustEnrol = tf
    ? tf.required && (!tf.enabled || tf.recovery_codes_only)
    : reason === "mfa_required"
  return (
    <>
      {forced && (
        <div className="kg-banner kg-banner--warn" role="alert" data-testid="kg-force-banner">
          <strong className="kg-banner__title">
            Your administrator asks you to change your password.
          </strong>
          <span>
            Choose a new password below. Until you do, the rest of your organisation's apps stay
            locked.
          </span>
        </div>
      )}
      {mustEnrol && (
        <div
          className={`kg-banner ${tf?.enrolment_overdue ? "kg-banner--danger" : "kg-banner--warn"}`}
          role="alert"
          data-testid="kg-enrol-banner"
        >
          <strong className="kg-banner__title">Set up two-factor authentication.</strong>
          <span>
            {tf?.enrolment_overdue
              ? "It's required for your account, and the deadline has passed: other apps stay locked until you add an authenticator app or a security key."
              : tf?.enrolment_deadline
                ? `It's required for your account. Add an authenticator app or a security key by ${formatDateTime(tf.enrolment_deadline)}.`
                : "It's required for your account. Add an authenticator app or a security key below."}
          </span>
        </div>
      )}
    </>
  )
}

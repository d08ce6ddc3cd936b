import { passwordRules, type PasswordRule } from "../../../webhooks/policy/password-rules"

/**
 * The password rules as a live checklist: each rule is pending until something is typed, then
 * met (✓) or, once the person has tried to submit (`touched`), not met (✕). The byte limit is
 * listed only while it is broken: nobody needs to read it otherwise. The Security page's
 * password card and the sign-up form show the same list.
 */
export function PasswordRuleList({
  id,
  password,
  failing,
  touched,
}: {
  id?: string
  password: string
  /** The keys of the rules `password` breaks (checkPassword). */
  failing: ReadonlySet<PasswordRule["key"]>
  touched: boolean
}) {
  return (
    <ul className="kg-rules" id={id} aria-label="Password requirements" data-testid="kg-rules">
      {passwordRules
        .filter((r) => r.key !== "max_bytes" || failing.has("max_bytes"))
        .map((rule) => {
          const ok = password.length > 0 && !failing.has(rule.key)
          const bad = touched && failing.has(rule.key)
          return (
            <li
              key={rule.key}
              className={`kg-rule ${ok ? "kg-rule--ok" : ""} ${bad ? "kg-rule--bad" : ""}`}
              data-rule={rule.key}
              data-state={ok ? "ok" : bad ? "failing" : "pending"}
            >
              <span className="kg-rule__icon" aria-hidden="true">
                {ok ? "✓" : bad ? "✕" : "•"}
              </span>
              {rule.text}
              <span className="kg-visually-hidden">{ok ? " (met)" : bad ? " (not met)" : ""}</span>
            </li>
          )
        })}
    </ul>
  )
}

import type { ReactNode } from "react"
import { useEffect, useState } from "react"
import { confiningReasons, securityPageFor, useGate, type Gate } from "../gate"
import { frontend, logout, navigate } from "../sdk"
import { Toaster } from "./toaster"
import { Wordmark } from "./wordmark"

type Section = "account" | "admin"

type AppShellProps = {
  /** Shown in the top bar; looked up from the session when not given. */
  email?: string | null
  /** Which top-level section is active (highlighted in the top bar). */
  section?: Section
  /**
   * Send the user to the Security page when the gate confines them there (2FA enrolment overdue,
   * forced password change). Only the Security page itself turns this off.
   */
  confine?: boolean
  children: ReactNode | ((gate: Gate) => ReactNode)
}

/** Signed-in chrome: top bar with the sections, the account and a way out; toasts. */
export function AppShell({ email, section = "account", confine = true, children }: AppShellProps) {
  const gate = useGate()
  const sessionEmail = useSessionEmail(email === undefined)
  const shownEmail = email ?? sessionEmail
  const isAdmin = (gate.status === "allowed" || gate.status === "blocked") && gate.isAdmin

  const confinedTo =
    confine && gate.status === "blocked" && confiningReasons.has(gate.reason)
      ? securityPageFor(gate.reason)
      : null
  useEffect(() => {
    if (confinedTo) navigate(confinedTo)
  }, [confinedTo])

  return (
    <Toaster>
      <div className="kg-app">
        <a className="kg-skip" href="#kg-main">
          Skip to content
        </a>
        <header className="kg-topbar">
          <div className="kg-topbar__inner">
            <Wordmark href="/settings?tab=security" />
            <nav className="kg-topnav" aria-label="Sections">
              <a
                className="kg-topnav__item"
                href="/settings?tab=security"
                aria-current={section === "account" ? "page" : undefined}
              >
                Account
              </a>
              {isAdmin && (
                <a
                  className="kg-topnav__item"
                  href="/admin"
                  aria-current={section === "admin" ? "page" : undefined}
                >
                  Admin
                </a>
              )}
            </nav>
            <div className="kg-topbar__account">
              {shownEmail && (
                <span className="kg-topbar__email" title={shownEmail}>
                  {shownEmail}
                </span>
              )}
              <SignOutButton />
            </div>
          </div>
        </header>
        <div id="kg-main">
          {confinedTo ? null : typeof children === "function" ? children(gate) : children}
        </div>
      </div>
    </Toaster>
  )
}

function useSessionEmail(enabled: boolean): string | null {
  const [email, setEmail] = useState<string | null>(null)
  useEffect(() => {
    if (!enabled) return
    let active = true
    frontend
      .toSession()
      .then((session) => {
        const traits: unknown = session.identity?.traits
        const value =
          traits && typeof traits === "object" && "email" in traits ? traits.email : undefined
        if (active && typeof value === "string") setEmail(value)
      })
      .catch(() => {
        // No session: the page itself sends the user to sign in.
      })
    return () => {
      active = false
    }
  }, [enabled])
  return email
}

function SignOutButton() {
  const [state, setState] = useState<"idle" | "pending" | "failed">("idle")
  const onClick = () => {
    setState("pending")
    logout().catch(() => setState("failed"))
  }
  return (
    <>
      <button
        type="button"
        className="kg-button kg-button--small"
        onClick={onClick}
        disabled={state === "pending"}
      >
        {state === "pending" ? "Signing out…" : "Sign out"}
      </button>
      {state === "failed" && (
        <span className="kg-topbar__error" role="alert">
          Sign-out failed. Try again.
        </span>
      )}
    </>
  )
}

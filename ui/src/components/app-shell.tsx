import type { ReactNode } from "react"
import { useState } from "react"
import { logout } from "../sdk"
import { Wordmark } from "./wordmark"

type AppShellProps = {
  email: string | null
  children: ReactNode
}

/** Signed-in chrome: top bar with the account and a way out. */
export function AppShell({ email, children }: AppShellProps) {
  return (
    <div className="kg-app">
      <header className="kg-topbar">
        <div className="kg-topbar__inner">
          <Wordmark href="/settings?tab=security" />
          <div className="kg-topbar__account">
            {email && (
              <span className="kg-topbar__email" title={email}>
                {email}
              </span>
            )}
            <SignOutButton />
          </div>
        </div>
      </header>
      {children}
    </div>
  )
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

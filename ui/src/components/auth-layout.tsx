import type { OryFlowComponentOverrides } from "@ory/elements-react"
import type { ReactNode } from "react"
import { refusalComponents } from "./refusal-messages"
import { signupPasswordComponents } from "./signup-password"
import { Wordmark } from "./wordmark"

/**
 * The card would repeat the project name as its logo right under our wordmark; the flow title
 * ("Sign in", "Register an account") is enough inside the card. The proxy's refusals get their
 * own message rendering (a countdown, the password rules) and hold back a blocked login; the
 * sign-up password shows the rules as a live checklist.
 */
export const authCardComponents: OryFlowComponentOverrides = {
  ...refusalComponents,
  Node: { ...refusalComponents.Node, ...signupPasswordComponents.Node },
  Card: { Logo: () => null },
}

/** Centered single-card layout shared by every signed-out page. */
export function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <div className="kg-auth">
      <header className="kg-auth__header">
        <Wordmark />
      </header>
      <main className="kg-auth__main">{children}</main>
      <footer className="kg-auth__footer">
        <span>Your account is protected by kratos-guard.</span>
      </footer>
    </div>
  )
}

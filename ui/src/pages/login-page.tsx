import { useSyncExternalStore } from "react"
import { SessionProvider } from "@ory/elements-react/client"
import { Login } from "@ory/elements-react/theme"
import { AuthLayout, authCardComponents } from "../components/auth-layout"
import { FlowView } from "../components/flow-status"
import { flowWithRefusal } from "../components/refusal-messages"
import type { LoginFlow } from "@ory/client-fetch"
import { takeEndedElsewhere } from "../signed-in-marker"
import { withoutOnloadTriggers, useOnloadTriggers } from "../onload-triggers"
import { origin, oryConfig } from "../ory.config"
import { refusalFor } from "../refusal"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

export function LoginPage() {
  const state = useFlow("login")
  return (
    <AuthLayout>
      <FlowView state={state} retryHref={() => browserFlowUrl("login")}>
        {(flow) => {
          const card = <LoginCard key={flow.id} flow={flow} />
          // Step-up and re-authentication happen with a session in place; the card shows
          // whose it is, and only then is a /sessions/whoami call worth making.
          const signedIn = flow.refresh || flow.requested_aal === "aal2"
          const page = (
            <>
              {!signedIn && <EndedElsewhereNotice />}
              {card}
              {flow.requested_aal === "aal2" && <LostDeviceLink />}
              {flow.requested_aal === "aal2" && <SecondStepHints />}
            </>
          )
          return signedIn ? <SessionProvider baseUrl={origin}>{page}</SessionProvider> : page
        }}
      </FlowView>
    </AuthLayout>
  )
}

function LoginCard({ flow }: { flow: LoginFlow }) {
  useOnloadTriggers(flow)
  return (
    <Login
      flow={withoutOnloadTriggers(flowWithRefusal(flow, refusalFor("login", flow.id)))}
      config={oryConfig}
      components={authCardComponents}
    />
  )
}

const noSubscription = () => () => {}

function EndedElsewhereNotice() {
  // Browser storage: none on the server, so a server-rendered page hydrates without it and
  // then shows it.
  const ended = useSyncExternalStore(noSubscription, takeEndedElsewhere, () => false)
  if (!ended) return null
  return (
    <div
      className="kg-notice kg-notice--info kg-auth__notice"
      role="status"
      data-testid="kg-signed-out-notice"
    >
      <strong>You were signed out on this device.</strong> That happens when your password is
      changed, when this session is signed out from another device or by an administrator, or when
      it expires. Sign in again to continue: your Activity tab lists password changes and signed-out
      sessions.
    </div>
  )
}

/** The way out for someone whose second factor is gone: a request an administrator approves. */
function LostDeviceLink() {
  return (
    <p className="kg-auth__lost">
      <a href="/lost-device" data-testid="kg-lost-device-link">
        Lost your device?
      </a>{" "}
      Ask for a reset of your second factor; an administrator approves it.
    </p>
  )
}

/** What usually goes wrong at the second step, and what to do about it. */
function SecondStepHints() {
  return (
    <details className="kg-details kg-auth__hints" data-testid="kg-login-hints">
      <summary>Trouble with the second step?</summary>
      <ul>
        <li>
          <strong>Code rejected:</strong> your phone's clock may be off by more than 30 seconds.
          Turn on automatic date and time, then use a fresh code.
        </li>
        <li>
          <strong>No phone at hand:</strong> choose "Backup recovery code" and enter one of the
          codes you saved. Each works once.
        </li>
        <li>
          <strong>No phone and no recovery codes:</strong>{" "}
          <a href="/lost-device">ask for a reset</a>. We email you a code to check it's you, and an
          administrator approves it.
        </li>
      </ul>
    </details>
  )
}

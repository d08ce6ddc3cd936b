import { SessionProvider } from "@ory/elements-react/client"
import { Login } from "@ory/elements-react/theme"
import { AuthLayout, authCardComponents } from "../components/auth-layout"
import { FlowView } from "../components/flow-status"
import { origin, oryConfig } from "../ory.config"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

export function LoginPage() {
  const state = useFlow("login")
  return (
    <AuthLayout>
      <FlowView state={state} retryHref={browserFlowUrl("login")}>
        {(flow) => {
          const card = (
            <Login key={flow.id} flow={flow} config={oryConfig} components={authCardComponents} />
          )
          // Step-up and re-authentication happen with a session in place; the card shows
          // whose it is, and only then is a /sessions/whoami call worth making.
          const signedIn = flow.refresh || flow.requested_aal === "aal2"
          return signedIn ? <SessionProvider baseUrl={origin}>{card}</SessionProvider> : card
        }}
      </FlowView>
    </AuthLayout>
  )
}

import { Registration } from "@ory/elements-react/theme"
import { AuthLayout, authCardComponents } from "../components/auth-layout"
import { FlowView } from "../components/flow-status"
import { flowWithRefusal } from "../components/refusal-messages"
import { signupConfig } from "../ory.config"
import { refusalFor } from "../refusal"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

export function RegistrationPage() {
  const state = useFlow("registration")
  return (
    <AuthLayout>
      <FlowView state={state} retryHref={() => browserFlowUrl("registration")}>
        {(flow) => (
          <Registration
            key={flow.id}
            flow={flowWithRefusal(flow, refusalFor("registration", flow.id))}
            config={signupConfig}
            components={authCardComponents}
          />
        )}
      </FlowView>
    </AuthLayout>
  )
}

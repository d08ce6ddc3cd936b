import { Verification } from "@ory/elements-react/theme"
import { AuthLayout, authCardComponents } from "../components/auth-layout"
import { FlowView } from "../components/flow-status"
import { oryConfig } from "../ory.config"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

export function VerificationPage() {
  const state = useFlow("verification")
  return (
    <AuthLayout>
      <FlowView state={state} retryHref={() => browserFlowUrl("verification")}>
        {(flow) => (
          <Verification
            key={flow.id}
            flow={flow}
            config={oryConfig}
            components={authCardComponents}
          />
        )}
      </FlowView>
    </AuthLayout>
  )
}

import { Recovery } from "@ory/elements-react/theme"
import { AuthLayout, authCardComponents } from "../components/auth-layout"
import { FlowView } from "../components/flow-status"
import { handedOverConfig, oryConfig } from "../ory.config"
import { codeHandedOver } from "../recovery-notice"
import { browserFlowUrl } from "../sdk"
import { useFlow } from "../use-flow"

export function RecoveryPage() {
  const state = useFlow("recovery")
  return (
    <AuthLayout>
      <FlowView state={state} retryHref={() => browserFlowUrl("recovery")}>
        {(flow) => (
          <Recovery
            key={flow.id}
            flow={flow}
            config={codeHandedOver(flow) ? handedOverConfig : oryConfig}
            components={authCardComponents}
          />
        )}
      </FlowView>
    </AuthLayout>
  )
}

import { FlowType } from "@ory/client-fetch"
import {
  useOryFlow,
  type OryFlowComponentOverrides,
  type OryNodeInputInputProps,
  type OryNodeInputProps,
  type OryNodeLabelProps,
} from "@ory/elements-react"
import { getOryComponents } from "@ory/elements-react/theme"
import { useEffect, useMemo, useRef } from "react"
import { useFormContext, useWatch } from "react-hook-form"
import { checkPassword, passwordRules } from "../../../webhooks/policy/password-rules"
import { PasswordRuleList } from "./password-rules"

const { Label: DefaultLabel, Input: DefaultInput } = getOryComponents().Node

const RULES_ID = "kg-signup-rules"
const ruleIds = new Set(passwordRules.map((r) => r.id))

/** The sign-up form's new password: a node of the registration flow named `password`. */
function isSignupPassword(flowType: FlowType, name: string): boolean {
  return flowType === FlowType.Registration && name === "password"
}

/**
 * What the person last typed as their new password, per flow. Elements resets its form to the
 * flow Kratos (or the proxy) answered with, and a flow never carries a password back, so a
 * refused sign-up would empty the field; the value is put back from here instead.
 */
const typed = new Map<string, string>()

/**
 * The sign-up password's label and messages, followed by the live rule checklist the password
 * card shows. The proxy's rule messages (our ids) are shown by the checklist as failing rules
 * rather than repeated as lines of text; any other message is shown as elements shows it.
 */
function SignupPasswordLabel(props: OryNodeLabelProps) {
  const { flow } = useOryFlow()
  const { setValue, getValues, formState } = useFormContext()
  const value = (useWatch({ name: "password" }) as string | undefined) ?? ""
  const failing = useMemo(() => new Set(checkPassword(value).map((r) => r.key)), [value])
  const refusedRules = props.node.messages.some((m) => ruleIds.has(m.id))
  const others = props.node.messages.filter((m) => !ruleIds.has(m.id))

  const flowId = flow.id
  useEffect(() => {
    if (value) typed.set(flowId, value)
  }, [flowId, value])

  // A new answer for this flow (a refused submit): what was typed comes back into the field.
  const seen = useRef(flow)
  useEffect(() => {
    if (seen.current === flow) return
    seen.current = flow
    const kept = typed.get(flow.id)
    if (kept && !getValues("password")) setValue("password", kept)
  }, [flow, getValues, setValue])

  return (
    <DefaultLabel {...props} node={{ ...props.node, messages: others }}>
      {props.children}
      <PasswordRuleList
        id={RULES_ID}
        password={value}
        failing={failing}
        touched={refusedRules || formState.submitCount > 0}
      />
    </DefaultLabel>
  )
}

function FlowLabel(props: OryNodeLabelProps) {
  const { flowType } = useOryFlow()
  if (!isSignupPassword(flowType, props.node.attributes.name)) return <DefaultLabel {...props} />
  return <SignupPasswordLabel {...props} />
}

/** Elements' input; the sign-up password also names the checklist as its description. */
function FlowInput(props: OryNodeInputProps) {
  const { flowType } = useOryFlow()
  if (!isSignupPassword(flowType, props.node.attributes.name)) return <DefaultInput {...props} />
  // Elements spreads the input props onto the <input>; its type just doesn't list ARIA ones.
  const inputProps = { ...props.inputProps, "aria-describedby": RULES_ID }
  return <DefaultInput {...props} inputProps={inputProps as OryNodeInputInputProps} />
}

/** Overrides for the auth cards: the sign-up password with its live checklist. */
export const signupPasswordComponents = {
  Node: { Label: FlowLabel, Input: FlowInput },
} satisfies OryFlowComponentOverrides

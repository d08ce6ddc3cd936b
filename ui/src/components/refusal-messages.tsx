import { FlowType, type UiContainer, type UiText } from "@ory/client-fetch"
import {
  messageTestId,
  useOryFlow,
  type OryMessageContentProps,
  type OryNodeButtonProps,
} from "@ory/elements-react"
import { DefaultMessage, getOryComponents } from "@ory/elements-react/theme"
import { useEffect, useState } from "react"
import { passwordRules } from "../../../webhooks/policy/password-rules"
import { LOGIN_THROTTLED, THROTTLED_METHODS, throttledText } from "../../../webhooks/proxy/refusals"
import { ACCOUNT_DISABLED_NOTICE } from "../disabled-account"
import { MAX_THROTTLED_SECONDS, throttledCountdownText, type Refusal } from "../refusal"

/**
 * A flow-level message the UI adds itself after a redirect with `password_policy=failed` (the
 * proxy only names which rules failed in a JSON answer). Our id range, never sent by a server.
 */
export const PASSWORD_REFUSED_NOTICE = 4100000

const DefaultButton = getOryComponents().Node.Button

/**
 * When each "too many failed attempts" message's block ends, fixed when the message is first
 * seen: elements keeps one object per message for as long as it shows that flow, and a new
 * refusal brings a new flow, so a new object and a new deadline.
 */
const deadlines = new WeakMap<UiText, number>()

function deadlineOf(message: UiText): number | null {
  const known = deadlines.get(message)
  if (known !== undefined) return known
  const seconds = (message.context as { retry_after_seconds?: unknown } | undefined)
    ?.retry_after_seconds
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 1) return null
  const until = Date.now() + Math.min(Math.ceil(seconds), MAX_THROTTLED_SECONDS) * 1000
  deadlines.set(message, until)
  return until
}

/** Whole seconds until `until` (0 once passed, or without one), re-rendering every second. */
function useSecondsLeft(until: number | null): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (until === null) return
    // At once too: a component that was already there when the block began has an old `now`.
    const tick = () => {
      const t = Date.now()
      setNow(t)
      return t < until
    }
    if (!tick()) return
    const timer = window.setInterval(() => {
      if (!tick()) window.clearInterval(timer)
    }, 1000)
    return () => window.clearInterval(timer)
  }, [until])
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000))
}

/**
 * The proxy's block message, counting down, in a box of its own: it stays true for minutes and
 * holds the submit back, unlike the one-off errors elements shows as a line of text. The same
 * for a JSON answer and a redirect.
 */
function ThrottledMessage({ message }: OryMessageContentProps) {
  const until = deadlineOf(message)
  const left = useSecondsLeft(until)
  const over = until !== null && left === 0
  return (
    <p
      className={`kg-notice kg-flow-notice ${over ? "kg-notice--info" : "kg-notice--error"}`}
      {...messageTestId(message)}
      data-state={over ? "over" : "blocked"}
    >
      {until === null
        ? message.text
        : over
          ? "You can try again now."
          : throttledCountdownText(left)}
    </p>
  )
}

function PasswordRefusedMessage({ message }: OryMessageContentProps) {
  return (
    <div className="kg-notice kg-notice--error kg-flow-notice" {...messageTestId(message)}>
      <p className="kg-flow-notice__title">That password wasn't accepted.</p>
      <p>Enter your details again and choose a password with:</p>
      <ul className="kg-flow-notice__list">
        {passwordRules.map((rule) => (
          <li key={rule.key}>{rule.text}</li>
        ))}
      </ul>
    </div>
  )
}

function FlowMessage({ message }: OryMessageContentProps) {
  if (message.id === ACCOUNT_DISABLED_NOTICE) {
    return (
      <p
        className="kg-notice kg-notice--error kg-flow-notice"
        role="alert"
        {...messageTestId(message)}
      >
        {message.text}
      </p>
    )
  }
  if (message.id === LOGIN_THROTTLED) return <ThrottledMessage message={message} />
  if (message.id === PASSWORD_REFUSED_NOTICE) return <PasswordRefusedMessage message={message} />
  return <DefaultMessage message={message} />
}

/**
 * Elements' button, except that a login's password, TOTP or recovery-code submit stays
 * disabled while the flow shows a block that has not run out: the proxy would refuse it anyway.
 */
function FlowButton(props: OryNodeButtonProps) {
  const { flow, flowType } = useOryFlow()
  const block =
    flowType === FlowType.Login
      ? flow.ui.messages?.find((m) => m.id === LOGIN_THROTTLED)
      : undefined
  const left = useSecondsLeft(block ? deadlineOf(block) : null)
  const { name, value } = props.node.attributes
  const guarded =
    props.buttonProps.type === "submit" &&
    name === "method" &&
    THROTTLED_METHODS.includes(String(value))
  if (!guarded || left === 0) return <DefaultButton {...props} />
  return <DefaultButton {...props} buttonProps={{ ...props.buttonProps, disabled: true }} />
}

/** Overrides for the auth cards: our refusal messages, and submits held back while blocked. */
export const refusalComponents = {
  Message: { Content: FlowMessage },
  Node: { Button: FlowButton },
}

const withRefusal = new WeakMap<object, object>()

/**
 * The flow with the refusal's message in it, as the proxy's JSON answer would carry it: every
 * earlier message dropped (they answered the attempt before), ours flow-level. The same object
 * for the same flow, so the message and its deadline stay put across renders.
 */
export function flowWithRefusal<T extends { ui: UiContainer }>(
  flow: T,
  refusal: Refusal | null,
): T {
  if (!refusal || refusal.kind === "sso_required") return flow
  const cached = withRefusal.get(flow)
  if (cached) return cached as T

  let message: UiText
  if (refusal.kind === "throttled") {
    message = {
      id: LOGIN_THROTTLED,
      type: "error",
      text: throttledText(refusal.seconds),
      context: { retry_after_seconds: refusal.seconds },
    }
    deadlines.set(message, refusal.until)
  } else {
    message = {
      id: PASSWORD_REFUSED_NOTICE,
      type: "error",
      text: `That password wasn't accepted. Choose one with: ${passwordRules.map((r) => r.text).join("; ")}.`,
    }
  }
  const out = {
    ...flow,
    ui: {
      ...flow.ui,
      messages: [message],
      nodes: flow.ui.nodes.map((n) => (n.messages.length > 0 ? { ...n, messages: [] } : n)),
    },
  }
  withRefusal.set(flow, out)
  return out
}

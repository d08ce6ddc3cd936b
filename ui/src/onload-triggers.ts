import type { UiContainer, UiNode } from "@ory/client-fetch"
import { useEffect } from "react"

type WebAuthnWindow = Window & {
  abortPasskeyConditionalUI?: AbortController
} & Record<string, unknown>

const stripped = new WeakMap<object, object>()

function onloadTriggerOf(node: UiNode): string | undefined {
  return node.attributes.node_type === "input" ? node.attributes.onloadTrigger : undefined
}

/**
 * The flow without the nodes' `onloadTrigger`s, for elements to render. Elements calls a
 * trigger from every instance of the input that mounts, polling until Kratos's WebAuthn script
 * has loaded and never stopping a poll when the input unmounts; the login card mounts the passkey
 * input twice before the script is there, so passkey autofill started twice, two login posts
 * followed and Kratos answered the second with a 500. useOnloadTriggers runs them once instead.
 * The same object for the same flow, so elements' form is not re-created on each render.
 */
export function withoutOnloadTriggers<T extends { ui: UiContainer }>(flow: T): T {
  if (!flow.ui.nodes.some(onloadTriggerOf)) return flow
  const cached = stripped.get(flow)
  if (cached) return cached as T
  const out = {
    ...flow,
    ui: {
      ...flow.ui,
      nodes: flow.ui.nodes.map((n) =>
        onloadTriggerOf(n)
          ? { ...n, attributes: { ...n.attributes, onloadTrigger: undefined } }
          : n,
      ),
    },
  }
  stripped.set(flow, out)
  return out
}

const POLL_MS = 50
const GIVE_UP_MS = 15_000

/**
 * Calls each of the flow's `onloadTrigger`s once, as soon as Kratos's script has defined it and
 * the page shows the input it belongs to. Leaving the page (or the flow) cancels a pending call
 * and aborts a passkey autofill that is still waiting, so an old flow's form is never posted.
 */
export function useOnloadTriggers(flow: { id: string; ui: UiContainer }): void {
  const wanted = flow.ui.nodes.flatMap((n) => {
    const trigger = onloadTriggerOf(n)
    return trigger && n.attributes.node_type === "input"
      ? [{ trigger, name: n.attributes.name }]
      : []
  })
  const key = wanted.map((w) => `${w.trigger}:${w.name}`).join(",")

  useEffect(() => {
    if (!key) return
    const w = window as unknown as WebAuthnWindow
    const pending = new Map(key.split(",").map((pair) => pair.split(":") as [string, string]))
    const started = Date.now()
    const tick = () => {
      for (const [trigger, name] of pending) {
        const fn = w[trigger]
        if (typeof fn !== "function" || document.getElementsByName(name).length === 0) continue
        pending.delete(trigger)
        ;(fn as () => unknown)()
      }
      if (pending.size === 0 || Date.now() - started > GIVE_UP_MS) window.clearInterval(timer)
    }
    const timer = window.setInterval(tick, POLL_MS)
    tick()
    return () => {
      window.clearInterval(timer)
      w.abortPasskeyConditionalUI?.abort("the page left this flow")
    }
  }, [flow.id, key])
}

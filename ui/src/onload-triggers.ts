import type { UiContainer, UiNode } from "@ory/client-fetch"
import { useEffect } from "react"

type WebAuthnWindow = Window & {
  abortPasskeyConditionalUI?: AbortController
} & Record<string, unknown>

const stripped = new WeakMap<object, object>()

function onloadTriggerOf(node: UiNode): string | undefined {
  return node.attributes.node_type === "input" ? node.attributes.onloadTrigger : undefined
}

const isScript = (node: UiNode) => node.attributes.node_type === "script"

/**
 * The flow without the nodes' `onloadTrigger`s and without Kratos's script nodes, for elements
 * to render. Elements calls a trigger from every instance of the input that mounts, polling
 * until Kratos's WebAuthn script has loaded and never stopping a poll when the input unmounts;
 * the login card mounts the passkey input twice before the script is there, so passkey autofill
 * started twice, two login posts followed and Kratos answered the second with a 500.
 * useOnloadTriggers runs them once instead, and loads the scripts itself once the form is on
 * screen: rendered by elements, the script's download began before the form's first paint.
 * The same object for the same flow, so elements' form is not re-created on each render.
 */
export function withoutOnloadTriggers<T extends { ui: UiContainer }>(flow: T): T {
  if (!flow.ui.nodes.some((n) => onloadTriggerOf(n) || isScript(n))) return flow
  const cached = stripped.get(flow)
  if (cached) return cached as T
  const out = {
    ...flow,
    ui: {
      ...flow.ui,
      nodes: flow.ui.nodes
        .filter((n) => !isScript(n))
        .map((n) =>
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
 * Loads the flow's scripts (Kratos's WebAuthn script) after the next paint, once per page, and
 * calls each of the flow's `onloadTrigger`s once, as soon as that script has defined it and
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
  const scripts = flow.ui.nodes.flatMap((n) =>
    n.attributes.node_type === "script" ? [n.attributes] : [],
  )
  const scriptKey = scripts.map((a) => `${a.id} ${a.src} ${a.integrity}`).join(",")

  useEffect(() => {
    if (!scriptKey) return
    // A task queued from the next frame's callback runs after that frame has painted.
    let timer = 0
    const frame = window.requestAnimationFrame(() => {
      timer = window.setTimeout(() => scripts.forEach(loadScript), 0)
    })
    return () => {
      window.cancelAnimationFrame(frame)
      window.clearTimeout(timer)
    }
    // scriptKey names the scripts: a re-render with the same flow loads nothing again.
  }, [scriptKey])

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

type ScriptAttributes = Extract<UiNode["attributes"], { node_type: "script" }>

/** Adds Kratos's script to the page as elements would have rendered it, unless it is there. */
function loadScript(a: ScriptAttributes) {
  if ([...document.scripts].some((s) => s.getAttribute("src") === a.src)) return
  const el = document.createElement("script")
  el.src = a.src
  el.async = a.async
  if (a.type) el.type = a.type
  if (a.id) el.id = a.id
  if (a.integrity) el.integrity = a.integrity
  if (a.nonce) el.nonce = a.nonce
  if (a.crossorigin) el.crossOrigin = a.crossorigin
  if (a.referrerpolicy) el.referrerPolicy = a.referrerpolicy
  document.head.appendChild(el)
}

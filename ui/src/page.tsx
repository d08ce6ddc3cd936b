import { StrictMode, type ReactNode } from "react"
import { App } from "./app"
import { ServedFlowContext, type ServedFlow } from "./use-flow"

/**
 * The whole page: the browser renders it (ui/src/boot.tsx), or hydrates it when the service
 * rendered it first with the flow it fetched (ui/src/server-render.tsx) — one tree for both,
 * so React adopts the server's markup instead of replacing it.
 */
export function Page({ path, served }: { path: string; served: ServedFlow | null }): ReactNode {
  return (
    <StrictMode>
      <ServedFlowContext value={served}>
        <App path={path} />
      </ServedFlowContext>
    </StrictMode>
  )
}

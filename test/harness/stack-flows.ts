import type { SettingsFlow } from "@ory/client"
import { kratosClients } from "./kratos"

export type StackUrls = { publicUrl: string; kratosAdminUrl: string }

export interface SettingsAnswer {
  at: number
  status: number
  /** The flow's first message for a refused submit, an API error code, or a network error. */
  detail?: string
}

/**
 * A password change through a given stack's public origin (a private stack's, so the proxy and
 * the hooks of that stack run); never throws, answers what Kratos or the service said.
 */
export async function changePasswordVia(
  urls: StackUrls,
  token: string,
  password: string,
): Promise<SettingsAnswer> {
  const { frontend } = kratosClients(urls)
  try {
    const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
    const res = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: { method: "password", password },
    })
    return { at: Date.now(), status: res.status }
  } catch (err) {
    const res = (err as { response?: { status: number; data: unknown } }).response
    if (!res) return { at: Date.now(), status: 0, detail: (err as Error).message }
    const flow = res.data as SettingsFlow & { error?: { code?: string } }
    const detail = flow.ui?.messages?.[0]?.text ?? flow.error?.code
    return { at: Date.now(), status: res.status, detail }
  }
}

import type { SettingsFlow, UiNode } from "@ory/client"
import { generateSync } from "otplib"
import { setAuthorization } from "./authz"
import { kratosClients, registerNative, STRONG_PASSWORD } from "./kratos"

/** The attributes of a UI node by name (input) or id (text/img). */
export function node(flow: { ui: { nodes: UiNode[] } }, name: string): UiNode | undefined {
  return flow.ui.nodes.find((n) => {
    const a = n.attributes as { name?: string; id?: string }
    return a.name === name || a.id === name
  })
}

export function nodeMessages(flow: { ui: { nodes: UiNode[] } }, name: string): number[] {
  return (node(flow, name)?.messages ?? []).map((m) => m.id)
}

export function flowMessages(flow: { ui: { messages?: { id: number }[] } }): number[] {
  return (flow.ui.messages ?? []).map((m) => m.id)
}

export async function settingsFlow(token: string): Promise<SettingsFlow> {
  const { data } = await kratosClients().frontend.createNativeSettingsFlow({ xSessionToken: token })
  return data
}

/** Submits a native settings flow; answers the flow whatever the status (200 or 400). */
export async function submitSettings(
  token: string,
  body: Record<string, unknown>,
  flow?: SettingsFlow,
) {
  const f = flow ?? (await settingsFlow(token))
  try {
    const { data, status } = await kratosClients().frontend.updateSettingsFlow({
      flow: f.id,
      xSessionToken: token,
      updateSettingsFlowBody: body as never,
    })
    return { status, flow: data as SettingsFlow }
  } catch (err) {
    const res = (err as { response?: { status: number; data: unknown } }).response
    if (!res) throw err
    return { status: res.status, flow: res.data as SettingsFlow }
  }
}

export const totpCode = (secret: string) => generateSync({ secret })

/** Enrols TOTP through a settings flow, with the code computed from the flow's secret. */
export async function enrolTotp(token: string): Promise<{ secret: string; flowId: string }> {
  const flow = await settingsFlow(token)
  const secretNode = node(flow, "totp_secret_key")
  const secret = (secretNode?.attributes as { text?: { text?: string } })?.text?.text
  if (!secret) throw new Error("the settings flow offers no TOTP secret")
  const res = await submitSettings(token, { method: "totp", totp_code: totpCode(secret) }, flow)
  if (res.status !== 200)
    throw new Error(
      `TOTP enrolment failed: ${res.status} ${JSON.stringify(res.flow?.ui?.messages)}`,
    )
  return { secret, flowId: flow.id }
}

/** Generates and saves recovery codes; answers how many were made. */
export async function enrolRecoveryCodes(token: string): Promise<number> {
  const first = await submitSettings(token, {
    method: "lookup_secret",
    lookup_secret_regenerate: true,
  })
  const codes = node(first.flow, "lookup_secret_codes")
  const secrets = (codes?.attributes as { text?: { context?: { secrets?: unknown[] } } })?.text
    ?.context?.secrets
  const saved = await submitSettings(
    token,
    { method: "lookup_secret", lookup_secret_confirm: true },
    first.flow,
  )
  if (saved.status !== 200) throw new Error(`saving recovery codes failed: ${saved.status}`)
  return Array.isArray(secrets) ? secrets.length : 0
}

/** A fresh password login (AAL1) through the native API flow. */
export async function loginPassword(email: string, password = STRONG_PASSWORD): Promise<string> {
  const { frontend } = kratosClients()
  const { data: flow } = await frontend.createNativeLoginFlow()
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password },
  })
  if (!data.session_token) throw new Error("login returned no session token")
  return data.session_token
}

/** Steps an AAL1 session up to AAL2 with a TOTP code. */
export async function stepUpTotp(token: string, secret: string): Promise<void> {
  const { frontend } = kratosClients()
  const { data: session } = await frontend.toSession({ xSessionToken: token })
  if (session.authenticator_assurance_level === "aal2") return
  const { data: flow } = await frontend.createNativeLoginFlow({ aal: "aal2", xSessionToken: token })
  await frontend.updateLoginFlow({
    flow: flow.id,
    xSessionToken: token,
    updateLoginFlowBody: { method: "totp", totp_code: totpCode(secret) },
  })
}

/**
 * Sets role (and when it was assigned) in the service's record and in Kratos, as the admin
 * console would (without its checks and audit entry).
 */
export async function setRole(
  identityId: string,
  role: "member" | "admin" | "super_admin",
  assignedAt = new Date(),
): Promise<void> {
  await setAuthorization(identityId, { role, roleAssignedAt: assignedAt })
}

export async function setManager(identityId: string, managerId: string): Promise<void> {
  await setAuthorization(identityId, { managerId })
}

export async function credentialTypes(identityId: string): Promise<string[]> {
  const { data } = await kratosClients().identities.getIdentity({ id: identityId })
  return Object.keys(data.credentials ?? {}).sort()
}

/** Someone with the given role, TOTP and a fresh session token at AAL2 (or AAL1 when asked). */
export async function staff(role: "admin" | "super_admin", aal: "aal1" | "aal2" = "aal2") {
  const user = await registerNative()
  const { secret } = await enrolTotp(user.sessionToken)
  await setRole(user.identityId, role)
  const token = await loginPassword(user.email)
  if (aal === "aal2") await stepUpTotp(token, secret)
  return { ...user, token }
}

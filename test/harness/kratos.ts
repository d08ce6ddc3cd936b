import { randomUUID } from "node:crypto"
import { Configuration, FrontendApi, IdentityApi } from "@ory/client"
import { stackInfo } from "./stack-info"

/** Kratos clients for tests: the public API through the service's origin, admin directly. */
export function kratosClients(s: { publicUrl: string; kratosAdminUrl: string } = stackInfo()) {
  return {
    frontend: new FrontendApi(new Configuration({ basePath: s.publicUrl })),
    identities: new IdentityApi(new Configuration({ basePath: s.kratosAdminUrl })),
  }
}

export const STRONG_PASSWORD = "Blue-Harbour-Lantern-42!"

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}@example.com`
}

/** Registers through Kratos's native API flow (via the service's proxy); returns the session token. */
export async function registerNative(
  email = uniqueEmail(),
  password = STRONG_PASSWORD,
  stack?: { publicUrl: string; kratosAdminUrl: string },
) {
  const { frontend } = kratosClients(stack)
  const { data: flow } = await frontend.createNativeRegistrationFlow()
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: "password", password, traits: { email } },
  })
  if (!data.session_token) throw new Error("registration returned no session token")
  return {
    email,
    password,
    identityId: data.identity.id,
    sessionToken: data.session_token,
    flowId: flow.id,
  }
}

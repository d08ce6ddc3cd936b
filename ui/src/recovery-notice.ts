import type { RecoveryFlow } from "@ory/client-fetch"

/**
 * Whether the recovery code of this flow was handed over rather than mailed. A flow an
 * administrator made for someone (the one-time link and code shown when an account is
 * provisioned) opens in Kratos's "sent_email" state, and elements' card then says "An email
 * containing a recovery code has been sent…", though none was. A flow the person started by
 * entering their address carries that address (the resend button's `email` node); one that
 * opens already waiting for a code without it had its code handed over.
 */
export function codeHandedOver(flow: RecoveryFlow): boolean {
  const hasNode = (name: string) =>
    flow.ui.nodes.some((n) => n.attributes.node_type === "input" && n.attributes.name === name)
  return flow.state === "sent_email" && hasNode("code") && !hasNode("email")
}

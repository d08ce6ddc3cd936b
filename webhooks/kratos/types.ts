/** Kratos's own shapes, for code outside the gateway that reads what it answers. */
export type { Identity, JsonPatch, Session } from "@ory/client"

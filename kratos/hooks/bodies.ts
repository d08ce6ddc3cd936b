import { z } from "zod"

/**
 * zod schemas of the bodies our jsonnet templates produce (kratos/hooks/*.jsonnet), one per
 * template. They are the types of the hook payloads: change a template, change its schema.
 */
const client = z.object({
  ip: z.string().max(100).nullable(),
  user_agent: z.string().max(1000).nullable(),
})

const json = z.record(z.string(), z.unknown())
const metadataPublic = json.nullable()

export const settingsMethods = [
  "password",
  "totp",
  "lookup_secret",
  "webauthn",
  "passkey",
  "profile",
] as const
export type SettingsMethod = (typeof settingsMethods)[number]

export const loginMethods = ["password", "totp", "lookup_secret", "webauthn", "passkey"] as const
export type LoginMethod = (typeof loginMethods)[number]

export const registrationMethods = ["password", "passkey"] as const

export const hookPhases = ["pre", "post"] as const
export type HookPhase = (typeof hookPhases)[number]

export const settingsHookBody = z.object({
  flow_id: z.uuid(),
  flow_type: z.enum(["browser", "api"]),
  flow_state: z.string().max(50).nullable(),
  identity_id: z.uuid(),
  identity: z.object({
    updated_at: z.string().max(64).nullable(),
    state: z.string().max(50).nullable(),
    traits: json,
    metadata_public: metadataPublic,
  }),
  previous_traits: json,
  action_nodes: z.array(z.string().max(100)).max(50),
  client,
})
export type SettingsHookBody = z.infer<typeof settingsHookBody>

export const loginHookBody = z.object({
  flow_id: z.uuid(),
  flow_type: z.enum(["browser", "api"]),
  requested_aal: z.string().max(10).nullable(),
  refresh: z.boolean(),
  identity_id: z.uuid(),
  identity: z.object({ state: z.string().max(50).nullable(), metadata_public: metadataPublic }),
  session: z
    .object({
      id: z.uuid(),
      aal: z.string().max(10).nullable(),
      authentication_methods: z
        .array(z.object({ method: z.string().max(50), aal: z.string().max(10).nullable() }))
        .max(20),
    })
    .nullable(),
  client,
})
export type LoginHookBody = z.infer<typeof loginHookBody>

export const registrationHookBody = z.object({
  flow_id: z.uuid(),
  flow_type: z.enum(["browser", "api"]),
  identity_id: z.uuid().nullable(),
  identity: z.object({ traits: json, metadata_public: metadataPublic }),
  client,
})
export type RegistrationHookBody = z.infer<typeof registrationHookBody>

import { deliveryShape } from "../../webhooks/domain/hook-deliveries"
import { loginHookBody, registrationHookBody, settingsHookBody } from "../../kratos/hooks/bodies"

const identityId = "4f1c7d2e-9b7a-4d55-8f0e-0a6c2b7e1d93"
const flowId = "0b7e1d93-4f1c-4d55-8f0e-9b7a0a6c2b7e"
const client = { ip: "203.0.113.9", user_agent: "Mozilla/5.0 (X11; Linux x86_64)" }
const traits = { email: "ada@example.com", name: { first: "Ada" } }

/** Nothing personal may survive into the stored record. */
function expectNothingPersonal(shape: unknown): void {
  expect(JSON.stringify(shape)).not.toMatch(/ada|example\.com|203\.0\.113|Mozilla|traits|role/i)
}

describe("what a hook delivery keeps", () => {
  it("when a settings hook arrives, then only its flow type, state and action node names are kept", () => {
    const body = settingsHookBody.parse({
      flow_id: flowId,
      flow_type: "browser",
      flow_state: "show_form",
      identity_id: identityId,
      identity: {
        updated_at: "2026-01-01T00:00:00Z",
        state: "active",
        traits,
        metadata_public: { role: "admin" },
      },
      previous_traits: traits,
      action_nodes: ["totp_code"],
      client,
    })
    const shape = deliveryShape(body)
    expect(shape).toEqual({
      flow_type: "browser",
      flow_state: "show_form",
      action_nodes: ["totp_code"],
    })
    expectNothingPersonal(shape)
  })

  it("when a login hook arrives, then its AAL, refresh and method names are kept, not the session id", () => {
    const sessionId = "9b7a0a6c-2b7e-4d55-8f0e-0b7e1d934f1c"
    const body = loginHookBody.parse({
      flow_id: flowId,
      flow_type: "api",
      requested_aal: "aal2",
      refresh: false,
      identity_id: identityId,
      identity: { state: "active", metadata_public: { role: "admin" } },
      session: {
        id: sessionId,
        aal: "aal2",
        authentication_methods: [
          { method: "password", aal: "aal1" },
          { method: "totp", aal: "aal2" },
        ],
      },
      client,
    })
    const shape = deliveryShape(body)
    expect(shape).toEqual({
      flow_type: "api",
      requested_aal: "aal2",
      refresh: false,
      session_aal: "aal2",
      authentication_methods: ["password", "totp"],
    })
    expect(JSON.stringify(shape)).not.toContain(sessionId)
    expectNothingPersonal(shape)
  })

  it("when a registration hook arrives, then only its flow type is kept", () => {
    const body = registrationHookBody.parse({
      flow_id: flowId,
      flow_type: "browser",
      identity_id: null,
      identity: { traits, metadata_public: null },
      client,
    })
    expect(deliveryShape(body)).toEqual({ flow_type: "browser" })
  })
})

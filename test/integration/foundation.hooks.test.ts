import request from "supertest"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { recordedHookBody } from "../harness/hook-fixtures"
import { kratosClients, registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

describe("Kratos webhooks reach the service", () => {
  it("when a user changes their password through a settings flow, then the password hook records it before and after Kratos persists it", async () => {
    const user = await registerNative()
    const { frontend } = kratosClients()
    const { data: flow } = await frontend.createNativeSettingsFlow({
      xSessionToken: user.sessionToken,
    })

    const { data: done } = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: user.sessionToken,
      updateSettingsFlowBody: { method: "password", password: "Quiet-Meadow-Compass-77?" },
    })
    expect(done.state).toBe("success")

    // Kratos waits for the pre-persist call and sends the post-persist one without waiting.
    const rows = await eventually(async () => {
      const r = await serviceDb()<{ hook: string; payload: Record<string, unknown> }[]>`
        select hook, payload from hook_deliveries where flow_id = ${flow.id} order by id`
      expect(r.map((x) => x.hook)).toEqual(["settings.password.pre", "settings.password.post"])
      return r
    })
    // The service keeps the flow's shape only: no traits, client address or user agent.
    const kept = rows[0]!.payload
    expect(Object.keys(kept).sort()).toEqual(["action_nodes", "flow_state", "flow_type"])
    expect(kept).toMatchObject({ flow_type: "api", flow_state: "show_form" })
    const [row] = await serviceDb()<{ identity_id: string }[]>`
      select identity_id from hook_deliveries where flow_id = ${flow.id} order by id limit 1`
    expect(row!.identity_id).toBe(user.identityId)
    // And nothing the jsonnet never forwards: cookies, UI nodes, the password.
    expect(JSON.stringify(rows)).not.toMatch(
      /Quiet-Meadow|csrf_token|ory_kratos_session|request_cookies|"ui"|"nodes"|@example|traits|user_agent|"ip"/i,
    )
  })

  it("when a user registers, then the registration hooks record the new identity", async () => {
    const user = await registerNative()
    const rows = await serviceDb()<{ hook: string; identity_id: string | null }[]>`
      select hook, identity_id from hook_deliveries where flow_id = ${user.flowId} order by id`
    expect(rows.map((r) => r.hook)).toEqual([
      "registration.password.pre",
      "registration.password.post",
    ])
    expect(rows[1]!.identity_id).toBe(user.identityId)
  })
})

describe("the webhook API key", () => {
  const body = () => recordedHookBody("settings.totp.pre")

  async function deliveriesFor(flowId: string): Promise<number> {
    const [row] = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from hook_deliveries where flow_id = ${flowId}`
    return row!.n
  }

  it("when the key is missing, then the hook answers 401 and writes nothing", async () => {
    const b = body()
    const res = await request(stackInfo().publicUrl).post("/hooks/settings/totp/pre").send(b)
    expect(res.status).toBe(401)
    expect(await deliveriesFor(b.flow_id)).toBe(0)
  })

  it("when the key is wrong, then the hook answers 401 and writes nothing", async () => {
    const b = body()
    const wrong = stackInfo().webhookApiKey.replace(/.$/, (c) => (c === "0" ? "1" : "0"))
    const res = await request(stackInfo().publicUrl)
      .post("/hooks/settings/totp/pre")
      .set("Authorization", `Bearer ${wrong}`)
      .send(b)
    expect(res.status).toBe(401)
    expect(await deliveriesFor(b.flow_id)).toBe(0)
  })

  it("when the key is right, then the body is recorded once and answered in Kratos's shape", async () => {
    const user = await registerNative()
    const b = recordedHookBody("settings.totp.pre", user.identityId)
    const res = await request(stackInfo().publicUrl)
      .post("/hooks/settings/totp/pre")
      .set("Authorization", `Bearer ${stackInfo().webhookApiKey}`)
      .send(b)
    expect(res.status).toBe(200)
    expect(await deliveriesFor(b.flow_id)).toBe(1)
  })

  it("when the body is not what the jsonnet produces, then the hook answers 400 in Kratos's message shape and writes nothing", async () => {
    const b = { ...body(), identity_id: "not-a-uuid" }
    const res = await request(stackInfo().publicUrl)
      .post("/hooks/settings/totp/pre")
      .set("Authorization", `Bearer ${stackInfo().webhookApiKey}`)
      .send(b)
    expect(res.status).toBe(400)
    expect(res.body.messages[0].messages[0]).toMatchObject({ type: "error" })
    expect(await deliveriesFor(b.flow_id)).toBe(0)
  })

  it("when the body is larger than the limit, then the hook answers 413 and writes nothing", async () => {
    const b = {
      ...body(),
      identity: { traits: { email: "x".repeat(200_000) } },
    }
    const res = await request(stackInfo().publicUrl)
      .post("/hooks/settings/totp/pre")
      .set("Authorization", `Bearer ${stackInfo().webhookApiKey}`)
      .send(b)
    expect(res.status).toBe(413)
    expect(await deliveriesFor(b.flow_id)).toBe(0)
  })
})

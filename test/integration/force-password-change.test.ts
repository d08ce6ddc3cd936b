import request from "supertest"
import { closeServiceDb, serviceDb } from "../harness/db"
import {
  enrolTotp,
  loginPassword,
  setManager,
  setRole,
  staff,
  submitSettings,
} from "../harness/flows"
import { SECURITY_TEAM } from "../harness/databases"
import { eventually } from "../harness/eventually"
import { kratosClients, registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const api = () => request(stackInfo().publicUrl)

async function flagOf(identityId: string) {
  const { data } = await kratosClients().identities.getIdentity({ id: identityId })
  return (data.metadata_public as { force_password_change?: { required: boolean; set_at: string } })
    .force_password_change
}

describe("forced password change", () => {
  it("when an admin forces a change, then ack before a real change is 409; after it the flag clears once, with the manager and security team notified", async () => {
    const admin = await staff("admin")
    const manager = await registerNative()
    const member = await registerNative()
    await setManager(member.identityId, manager.identityId)

    const forced = await api()
      .post(`/api/admin/users/${member.identityId}/force-password-change`)
      .set("X-Session-Token", admin.token)
    expect(forced.status).toBe(200)
    expect((await flagOf(member.identityId))?.required).toBe(true)

    const gate = await api().get("/api/auth/gate").set("X-Session-Token", member.sessionToken)
    expect(gate.status).toBe(403)
    expect(gate.body.error.reason).toBe("password_change_required")

    const early = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(early.status).toBe(409)
    expect((await flagOf(member.identityId))?.required).toBe(true)

    const changed = await submitSettings(member.sessionToken, {
      method: "password",
      password: "Fresh-Lighthouse-Quartz-81!",
    })
    expect(changed.status).toBe(200)

    const ack = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(ack.status).toBe(200)
    expect(ack.body.status).toBe("cleared")
    expect((await flagOf(member.identityId))?.required).toBe(false)

    const again = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(again.status).toBe(200)

    const entries = await serviceDb()<{ event_id: string; actor_type: string; actor_id: string }[]>`
      select event_id, actor_type, actor_id from audit_events
      where subject_id = ${member.identityId} and event like 'auth.force_password_change_%' order by id`
    expect(entries.map((e) => e.actor_type)).toEqual(["admin", "user"])
    expect(entries[0]!.actor_id).toBe(admin.identityId)

    const outbox = await serviceDb()<{ recipient: string; kind: string }[]>`
      select recipient, kind from notification_outbox where audit_event_id = ${entries[1]!.event_id} order by recipient`
    expect(outbox.map((o) => o.recipient).sort()).toEqual([manager.email, ...SECURITY_TEAM].sort())

    const gateAfter = await api().get("/api/auth/gate").set("X-Session-Token", member.sessionToken)
    expect(gateAfter.status).toBe(200)
  })

  it("when someone without a forced change acks, then nothing is required and nothing is written", async () => {
    const user = await registerNative()
    const res = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", user.sessionToken)
    expect(res.status).toBe(200)
    expect(res.body.status).toBe("not_required")
  })

  it("when an admin at AAL1 or a member calls the admin route, then it is refused and nothing is set", async () => {
    const member = await registerNative()
    const target = await registerNative()
    const asMember = await api()
      .post(`/api/admin/users/${target.identityId}/force-password-change`)
      .set("X-Session-Token", member.sessionToken)
    expect(asMember.status).toBe(403)
    expect(asMember.body.error.reason).toBe("admin_required")

    await setRole(member.identityId, "admin")
    const aal1 = await loginPassword(member.email)
    const asAal1Admin = await api()
      .post(`/api/admin/users/${target.identityId}/force-password-change`)
      .set("X-Session-Token", aal1)
    expect(asAal1Admin.status).toBe(403)
    expect(asAal1Admin.body.error.reason).toBe("aal2_required")
    expect(await flagOf(target.identityId)).toBeUndefined()
  })

  it("when a browser session posts without the CSRF header or from another origin, then it is refused", async () => {
    const res = await api()
      .post("/api/auth/ack-password-change")
      .set("Cookie", "ory_kratos_session=whatever")
      .set("Origin", "https://evil.example")
    expect(res.status).toBe(403)
    expect(res.body.error.reason).toBe("csrf")
  })
})

describe("durable audit trail", () => {
  it("when Kratos delivers the same post-persist call twice, then there is one audit entry", async () => {
    const user = await registerNative()
    const { flowId } = await enrolTotp(user.sessionToken)
    const delivery = await eventually(async () => {
      const [row] = await serviceDb()<
        { payload: { flow_type: string; flow_state?: string; action_nodes?: string[] } }[]
      >`
        select payload from hook_deliveries where flow_id = ${flowId} and hook = 'settings.totp.post'`
      expect(row).toBeDefined()
      return row!.payload
    })
    // The same call again, as the jsonnet builds it: the kept shape and Kratos's identity.
    const { data: identity } = await kratosClients().identities.getIdentity({ id: user.identityId })
    const replay = await api()
      .post("/hooks/settings/totp/post")
      .set("Authorization", `Bearer ${stackInfo().webhookApiKey}`)
      .send({
        flow_id: flowId,
        flow_type: delivery.flow_type,
        flow_state: delivery.flow_state ?? null,
        identity_id: user.identityId,
        identity: {
          updated_at: identity.updated_at ?? null,
          state: identity.state ?? null,
          traits: identity.traits,
          metadata_public: identity.metadata_public ?? null,
        },
        previous_traits: identity.traits,
        action_nodes: delivery.action_nodes ?? [],
        client: { ip: null, user_agent: null },
      })
    expect(replay.status).toBe(204)
    const rows = await serviceDb()<{ n: number }[]>`
      select count(*)::int as n from audit_events where subject_id = ${user.identityId} and event = 'auth.2fa_enabled'`
    expect(rows[0]!.n).toBe(1)
  })
})

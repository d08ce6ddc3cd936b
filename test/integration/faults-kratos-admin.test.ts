import type { SettingsFlow } from "@ory/client"
import postgres from "postgres"
import request from "supertest"
import { setAuthorization } from "../harness/authz"
import { node, totpCode } from "../harness/flows"
import { eventually } from "../harness/eventually"
import { kratosClients, registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { startTcpProxy } from "../harness/tcp-proxy"

type Urls = { publicUrl: string; kratosAdminUrl: string }

/** Submits a native settings flow through the service's origin; answers status and flow. */
async function submit(urls: Urls, token: string, body: (f: SettingsFlow) => object) {
  const { frontend } = kratosClients(urls)
  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
  try {
    const res = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: body(flow) as never,
    })
    return { status: res.status, flow: res.data as SettingsFlow, flowId: flow.id }
  } catch (err) {
    const res = (err as { response?: { status: number; data: SettingsFlow } }).response
    if (!res) throw err
    return { status: res.status, flow: res.data, flowId: flow.id }
  }
}

const linkTotp = (f: SettingsFlow) => {
  const secret = (node(f, "totp_secret_key")?.attributes as { text?: { text?: string } }).text?.text
  return { method: "totp", totp_code: totpCode(secret!), secret }
}

async function credentialTypes(urls: Urls, id: string): Promise<string[]> {
  const { data } = await kratosClients(urls).identities.getIdentity({ id })
  return Object.keys(data.credentials ?? {}).sort()
}

describe("Kratos admin API unreachable from the service", () => {
  it("when the service can't reach Kratos admin, then 2FA changes of 2FA-required admins are refused once with a message in the flow, nothing is stored, readiness says why, and all works again when it is back", async () => {
    const adminApi = await startTcpProxy()
    const p = await startPrivateStack({
      serviceKratosAdminUrl: (url) => {
        adminApi.target(url)
        return adminApi.url
      },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    const target = {
      serviceDatabaseUrl: p.serviceDatabaseUrl,
      kratosAdminUrl: p.urls.kratosAdminUrl,
    }
    const { frontend } = kratosClients(p.urls)
    const api = () => request(p.urls.publicUrl)
    const hookCalls = async (flowId: string) => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from hook_deliveries
         where flow_id = ${flowId} and hook = 'settings.totp.pre'`
      return row!.n
    }
    try {
      // An admin with TOTP and an AAL2 session, and an admin who has not enrolled yet.
      const enrolled = await registerNative(undefined, undefined, p.urls)
      let secret = ""
      const linked = await submit(p.urls, enrolled.sessionToken, (f) => {
        const body = linkTotp(f)
        secret = body.secret!
        return body
      })
      expect(linked.status).toBe(200)
      await setAuthorization(
        enrolled.identityId,
        { role: "admin", roleAssignedAt: new Date() },
        target,
      )
      const { data: login } = await frontend.createNativeLoginFlow()
      const { data: aal1 } = await frontend.updateLoginFlow({
        flow: login.id,
        updateLoginFlowBody: {
          method: "password",
          identifier: enrolled.email,
          password: STRONG_PASSWORD,
        },
      })
      const token = aal1.session_token!
      const { data: stepUp } = await frontend.createNativeLoginFlow({
        aal: "aal2",
        xSessionToken: token,
      })
      await frontend.updateLoginFlow({
        flow: stepUp.id,
        xSessionToken: token,
        updateLoginFlowBody: { method: "totp", totp_code: totpCode(secret) },
      })
      const newcomer = await registerNative(undefined, undefined, p.urls)
      await setAuthorization(
        newcomer.identityId,
        { role: "admin", roleAssignedAt: new Date() },
        target,
      )
      expect((await api().get("/health/ready")).status).toBe(200)

      await adminApi.cut()

      const ready = await api().get("/health/ready")
      expect(ready.status).toBe(503)
      expect(ready.body).toEqual({
        status: "unavailable",
        checks: { database: "ok", kratos: "unreachable" },
      })

      // Unlink: the service can't read the credentials it must check, so it refuses.
      const unlink = await submit(p.urls, token, () => ({ method: "totp", totp_unlink: true }))
      expect(unlink.status).toBe(400)
      expect(unlink.flow.ui.messages).toEqual([
        expect.objectContaining({ type: "error", text: expect.stringMatching(/not saved/) }),
      ])
      expect(await credentialTypes(p.urls, enrolled.identityId)).toContain("totp")

      // Enrolment is refused the same way: nothing is stored that the service can't record.
      const enrol = await submit(p.urls, newcomer.sessionToken, linkTotp)
      expect(enrol.status).toBe(400)
      expect(enrol.flow.ui.messages).toEqual([
        expect.objectContaining({ type: "error", text: expect.stringMatching(/not saved/) }),
      ])
      expect(await credentialTypes(p.urls, newcomer.identityId)).not.toContain("totp")

      // Kratos called each pre-persist hook once: a 4xx with messages is not retried.
      await eventually(async () => expect(await hookCalls(enrol.flowId)).toBeGreaterThan(0))
      expect(await hookCalls(unlink.flowId)).toBe(1)
      expect(await hookCalls(enrol.flowId)).toBe(1)
      const pendingRows = await sql`
        select 1 from pending_changes where flow_id in (${unlink.flowId}, ${enrol.flowId})`
      expect(pendingRows).toHaveLength(0)

      // The user API answers a clear 503, not a 500.
      const me = await api().get("/api/me/security").set("X-Session-Token", newcomer.sessionToken)
      expect(me.status).toBe(503)
      expect(me.body.error).toMatchObject({ code: "UNAVAILABLE" })

      await adminApi.restore()
      await eventually(async () => expect((await api().get("/health/ready")).status).toBe(200))
      const retried = await submit(p.urls, newcomer.sessionToken, linkTotp)
      expect(retried.status).toBe(200)
      expect(await credentialTypes(p.urls, newcomer.identityId)).toContain("totp")
    } finally {
      await sql.end()
      await p.stop()
      await adminApi.close()
    }
  }, 180_000)
})

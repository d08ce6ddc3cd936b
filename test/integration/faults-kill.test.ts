import type { ChildProcess } from "node:child_process"
import postgres from "postgres"
import { createKratosAdmin } from "../../webhooks/kratos/admin"
import { eventually } from "../harness/eventually"
import { node, totpCode } from "../harness/flows"
import { startHookProxy } from "../harness/hook-proxy"
import { kratosClients, registerNative } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

const NEW_PASSWORD = "Copper-Orchard-Signal-73!"

async function killNine(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGKILL")
  await exited
}

/** Submits a native settings flow straight to Kratos public; answers Kratos's HTTP status. */
async function submitDirect(
  urls: { publicUrl: string; kratosAdminUrl: string },
  token: string,
  body: (flow: { ui: { nodes: never[] } }) => Record<string, unknown>,
): Promise<{ status: number; flowId: string }> {
  const { frontend } = kratosClients(urls)
  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
  try {
    const res = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: body(flow as never) as never,
    })
    return { status: res.status, flowId: flow.id }
  } catch (err) {
    const status = (err as { response?: { status: number } }).response?.status ?? 0
    return { status, flowId: flow.id }
  }
}

describe("service killed with -9 between Kratos's pre-persist and post-persist calls", () => {
  it("when the kill lands after Kratos stored the change, then reconciliation writes exactly its audit entry and notification; when it lands before, nothing is recorded", async () => {
    const proxy = await startHookProxy()
    const p = await startPrivateStack({
      mutateKratosConfig: (cfg) => proxy.redirect(cfg),
      // The reconciler settles pending changes older than 5 s, every 2.5 s.
      env: { RECONCILE_AFTER_SECONDS: "5" },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    const kratos = createKratosAdmin(p.urls.kratosAdminUrl)
    // The service proxies Kratos public and would die with the submit in flight: the test
    // submits to Kratos public directly, so only the hooks go through the service.
    const direct = { publicUrl: p.stack.kratosPublicUrl, kratosAdminUrl: p.urls.kratosAdminUrl }
    try {
      const changer = await registerNative(undefined, undefined, p.urls)
      const linker = await registerNative(undefined, undefined, p.urls)
      const passwordBefore = (await kratos.summary(changer.identityId))!.password!.fingerprint

      // 1. Kratos calls pre-persist (forwarded), stores the new password, then calls
      //    post-persist: the proxy SIGKILLs the service there and drops that call and its
      //    retries, so only the reconciler can confirm the change.
      let killedAtPost: Promise<void> | null = null
      proxy.setPlan((path) => {
        if (!path.startsWith("/hooks/settings/") || !path.endsWith("/post"))
          return { kind: "forward" }
        // Kratos retries the dropped call: those are dropped too, without killing again.
        if (killedAtPost) return { kind: "drop" }
        killedAtPost = killNine(p.stack.service)
        return { kind: "drop", before: () => killedAtPost! }
      })
      const changed = await submitDirect(direct, changer.sessionToken, () => ({
        method: "password",
        password: NEW_PASSWORD,
      }))
      expect(changed.status).toBe(200)
      await eventually(async () => expect(killedAtPost).not.toBeNull())
      await killedAtPost
      expect(p.stack.service.signalCode).toBe("SIGKILL")
      expect(proxy.callsTo("/settings/password/pre").map((c) => c.outcome)).toEqual([200])

      // Kratos stored it; the service only has the pending record of the pre-persist call.
      const stored = await kratos.summary(changer.identityId)
      expect(stored!.password!.fingerprint).not.toBe(passwordBefore)
      const pendingAtKill = await sql<{ status: string }[]>`
        select status from pending_changes where flow_id = ${changed.flowId}`
      expect(pendingAtKill.map((r) => r.status)).toEqual(["pending"])
      const auditAtKill = await sql`
        select 1 from audit_events where flow_id = ${changed.flowId}`
      expect(auditAtKill).toHaveLength(0)

      await p.stack.restartService()

      // 2. The other way round: the service records a TOTP link as pending and dies before
      //    its answer reaches Kratos. Kratos retries the call, finds nobody, and refuses.
      let killedAfterPre = false
      proxy.setPlan((path) => {
        if (path.endsWith("/post")) return { kind: "drop" }
        if (path !== "/hooks/settings/totp/pre" || killedAfterPre) return { kind: "forward" }
        killedAfterPre = true
        return { kind: "forward-then-drop", afterAnswer: () => killNine(p.stack.service) }
      })
      const linked = await submitDirect(direct, linker.sessionToken, (flow) => {
        const secret = (node(flow, "totp_secret_key")?.attributes as { text?: { text?: string } })
          .text?.text
        return { method: "totp", totp_code: totpCode(secret!) }
      })
      expect(linked.status).toBeGreaterThanOrEqual(400)
      expect(killedAfterPre).toBe(true)
      // The first call was answered by the service (and cut); Kratos's retries found no one.
      const totpCalls = proxy.callsTo("/settings/totp/pre").map((c) => c.outcome)
      expect(totpCalls[0]).toBe("dropped")
      expect(totpCalls.slice(1).every((o) => o === "unreachable")).toBe(true)
      expect((await kratos.summary(linker.identityId))!.totp).toBeNull()
      const pendingLink = await sql<{ status: string }[]>`
        select status from pending_changes where flow_id = ${linked.flowId}`
      expect(pendingLink.map((r) => r.status)).toEqual(["pending"])

      proxy.setPlan((path) => (path.endsWith("/post") ? { kind: "drop" } : { kind: "forward" }))
      await p.stack.restartService()

      // 3. The restarted service's reconciler settles both from the admin API.
      await eventually(async () => {
        const rows = await sql<{ flow_id: string; status: string }[]>`
          select flow_id, status from pending_changes
           where flow_id in (${changed.flowId}, ${linked.flowId})`
        const byFlow = Object.fromEntries(rows.map((r) => [r.flow_id, r.status]))
        expect(byFlow).toEqual({ [changed.flowId]: "confirmed", [linked.flowId]: "abandoned" })
      }, 45_000)

      const changerEvents = await sql<{ event: string; flow_id: string | null }[]>`
        select event, flow_id from audit_events
         where subject_id = ${changer.identityId} and event <> 'auth.registered'
         order by id`
      expect(changerEvents).toEqual([{ event: "auth.password_changed", flow_id: changed.flowId }])
      const outbox = await sql<{ kind: string; recipient: string }[]>`
        select o.kind, o.recipient from notification_outbox o
          join audit_events a on a.event_id = o.audit_event_id
         where a.subject_id = ${changer.identityId}`
      expect(outbox).toEqual([{ kind: "user.password_changed", recipient: changer.email }])

      const linkerEvents = await sql<{ event: string }[]>`
        select event from audit_events
         where subject_id = ${linker.identityId} and event <> 'auth.registered'`
      expect(linkerEvents).toEqual([])
      // Nothing of the killed calls is half there: each pending record is settled.
      const open = await sql`
        select 1 from pending_changes
         where identity_id in (${changer.identityId}, ${linker.identityId}) and status = 'pending'`
      expect(open).toHaveLength(0)
    } finally {
      await sql.end()
      await p.stop()
      await proxy.close()
    }
  }, 180_000)
})

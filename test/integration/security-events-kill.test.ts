import type { ChildProcess } from "node:child_process"
import postgres from "postgres"
import { newSigningSecret } from "../../webhooks/domain/security-events/signing"
import { eventually } from "../harness/eventually"
import { startReceiver } from "../harness/event-receiver"
import { registerNative } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

async function killNine(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGKILL")
  await exited
}

describe("security events when the service is killed with -9 during a delivery", () => {
  it("when the service dies with a delivery in flight, then after a restart the receiver gets that event again with the same webhook-id, and every event, in chain order", async () => {
    const receiver = await startReceiver()
    const p = await startPrivateStack({
      env: {
        EVENT_SUBSCRIBER_ALLOWED_NETWORKS: "127.0.0.1/32",
        EVENT_DELIVERY_POLL_MS: "50",
        EVENT_DELIVERY_LEASE_SECONDS: "3",
        EVENT_DELIVERY_TIMEOUT_MS: "60000",
        EVENT_DELIVERY_BACKOFF_BASE_MS: "100",
      },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 2, onnotice: () => {} })
    try {
      const secret = newSigningSecret()
      receiver.setSecret(secret)
      const [sub] = await sql<{ id: string }[]>`
        insert into event_subscribers (name, url, event_types, secret, created_by)
        values ('siem', ${receiver.url}, ${["auth.registered"]}, ${secret}, gen_random_uuid())
        returning id`
      // The receiver takes the first event and never answers: the service dies waiting.
      receiver.setMode("hold")
      const inFlight = receiver.nextPost()
      const people = []
      for (let i = 0; i < 3; i++) people.push(await registerNative(undefined, undefined, p.urls))
      const held = await inFlight
      expect(held.verified).toBe(true)
      await killNine(p.stack.service)
      receiver.setMode("ok")
      await p.stack.restartService()
      const ids = people.map((x) => x.identityId)
      const entries = await sql<{ event_id: string }[]>`
        select event_id from audit_events
         where event = 'auth.registered' and subject_id = any(${ids}::uuid[]) order by seq`
      expect(entries).toHaveLength(3)
      await eventually(async () => expect(receiver.received).toHaveLength(3), 30_000)
      // The event in flight at the kill came again with the id it had; nothing was lost,
      // nothing came twice after it, and the order is the chain's.
      expect(held.id).toBe(entries[0]!.event_id)
      expect(receiver.received.map((r) => r.id)).toEqual(entries.map((e) => e.event_id))
      expect(receiver.received.every((r) => r.verified)).toBe(true)
      const rows = await sql<{ status: string }[]>`
        select status from event_deliveries where subscriber_id = ${sub!.id}`
      expect(rows.map((r) => r.status)).toEqual(["delivered", "delivered", "delivered"])
    } finally {
      await sql.end({ timeout: 2 })
      await receiver.stop()
      await p.stop()
    }
  })
})

import postgres from "postgres"
import pino from "pino"
import { openDatabase } from "../../db/client"
import { reconcilePendingChanges } from "../../webhooks/domain/reconcile-changes"
import { createKratosAdmin } from "../../webhooks/kratos/admin"
import { node, totpCode } from "../harness/flows"
import { kratosClients, registerNative } from "../harness/kratos"
import { breakSettingsConfirmations } from "../harness/kratos-config"
import { startPrivateStack } from "../harness/private-stack"
import { terminate } from "../../scripts/stack"

type Urls = { publicUrl: string; kratosAdminUrl: string }

/** Tries to link TOTP through a native settings flow; answers Kratos's HTTP status. */
async function tryLinkTotp(urls: Urls, token: string): Promise<number> {
  const { frontend } = kratosClients(urls)
  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
  const secret = (node(flow, "totp_secret_key")?.attributes as { text?: { text?: string } }).text
    ?.text
  try {
    const res = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: { method: "totp", totp_code: totpCode(secret!) },
    })
    return res.status
  } catch (err) {
    return (err as { response?: { status: number } }).response?.status ?? 0
  }
}

async function hasTotp(urls: Urls, id: string): Promise<boolean> {
  const { data } = await kratosClients(urls).identities.getIdentity({ id })
  return Object.keys(data.credentials ?? {}).includes("totp")
}

describe("security changes fail closed", () => {
  it("when the service is down, then Kratos refuses a TOTP link and nothing is stored anywhere", async () => {
    const p = await startPrivateStack()
    const sql = postgres(p.serviceDatabaseUrl, { max: 1, onnotice: () => {} })
    try {
      const user = await registerNative(undefined, undefined, p.urls)
      const [before] = await sql<{ n: number }[]>`select count(*)::int as n from audit_events`
      await terminate(p.stack.service)

      // With the service gone the public origin is gone too; go to Kratos directly to prove
      // that Kratos itself refuses the change when its pre-persist hook can't be reached.
      const direct = { publicUrl: p.stack.kratosPublicUrl, kratosAdminUrl: p.urls.kratosAdminUrl }
      const status = await tryLinkTotp(direct, user.sessionToken)
      expect(status).toBeGreaterThanOrEqual(400)
      expect(await hasTotp(p.urls, user.identityId)).toBe(false)
      const [after] = await sql<{ n: number }[]>`select count(*)::int as n from audit_events`
      expect(after!.n).toBe(before!.n)
    } finally {
      await sql.end()
      await p.stop()
    }
  })

  it("when the confirming hook never arrives, then reconciliation records exactly what Kratos stored", async () => {
    // Kratos's post-persist settings hooks go nowhere: the change is stored, never confirmed.
    const p = await startPrivateStack({ mutateKratosConfig: breakSettingsConfirmations })
    const database = openDatabase({ databaseUrl: p.serviceDatabaseUrl, poolMax: 2 })
    try {
      const user = await registerNative(undefined, undefined, p.urls)
      await tryLinkTotp(p.urls, user.sessionToken)
      expect(await hasTotp(p.urls, user.identityId)).toBe(true)

      const db = await database.query<{ status: string }>(
        "select status from pending_changes where identity_id = $1",
        [user.identityId],
      )
      expect(db.rows.map((r) => r.status)).toEqual(["pending"])

      const deps = {
        database,
        kratos: createKratosAdmin(p.urls.kratosAdminUrl),
        log: pino({ level: "silent" }),
        maxPasswordChangesPerHour: 5,
      }
      expect(await reconcilePendingChanges(deps, { olderThanMs: 0 })).toEqual({
        confirmed: 1,
        abandoned: 0,
      })
      // Running it again changes nothing: the record is settled and the entry deduplicated.
      expect(await reconcilePendingChanges(deps, { olderThanMs: 0 })).toEqual({
        confirmed: 0,
        abandoned: 0,
      })

      const events = await database.query<{ event: string }>(
        "select event from audit_events where subject_id = $1 and event like 'auth.2fa%'",
        [user.identityId],
      )
      expect(events.rows.map((r) => r.event)).toEqual(["auth.2fa_enabled"])
    } finally {
      await database.close()
      await p.stop()
    }
  })

  it("when a pending change was never persisted by Kratos, then reconciliation abandons it and reports nothing", async () => {
    const p = await startPrivateStack()
    const database = openDatabase({ databaseUrl: p.serviceDatabaseUrl, poolMax: 2 })
    try {
      const user = await registerNative(undefined, undefined, p.urls)
      const kratos = createKratosAdmin(p.urls.kratosAdminUrl)
      const before = await kratos.summary(user.identityId)
      // What a pre-persist hook leaves when Kratos then fails to store the change.
      await database.query(
        `insert into pending_changes (change_key, flow_id, method, identity_id, intent, before)
         values ($1, gen_random_uuid(), 'totp', $2, 'totp_link', $3::jsonb)`,
        [`test:${user.identityId}`, user.identityId, JSON.stringify(before)],
      )
      const deps = {
        database,
        kratos,
        log: pino({ level: "silent" }),
        maxPasswordChangesPerHour: 5,
      }
      expect(await reconcilePendingChanges(deps, { olderThanMs: 0 })).toEqual({
        confirmed: 0,
        abandoned: 1,
      })
      const events = await database.query<{ n: number }>(
        "select count(*)::int as n from audit_events where subject_id = $1 and event like 'auth.2fa%'",
        [user.identityId],
      )
      expect(events.rows[0]!.n).toBe(0)
    } finally {
      await database.close()
      await p.stop()
    }
  })
})

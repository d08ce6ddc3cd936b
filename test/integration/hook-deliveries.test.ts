import { readFileSync } from "node:fs"
import path from "node:path"
import { randomUUID } from "node:crypto"
import { openDatabase } from "../../db/client"
import { ROOT } from "../../scripts/stack"
import { settingsHookBody, loginHookBody } from "../../kratos/hooks/bodies"
import { deliveryShape, pruneHookDeliveries } from "../../webhooks/domain/hook-deliveries"
import { closeServiceDb, serviceDb } from "../harness/db"
import { scratchDatabase } from "../harness/databases"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const client = { ip: "203.0.113.9", user_agent: "Mozilla/5.0 (X11; Linux x86_64)" }
const traits = { email: "ada@example.com" }

describe("hook delivery retention", () => {
  it("when deliveries are older than the retention, then the prune deletes exactly those, in batches, and keeps newer ones", async () => {
    const sql = serviceDb()
    const marker = `retention-${randomUUID()}`
    const insert = (days: number, n: number) => sql`
      insert into hook_deliveries (hook, payload, request_id, received_at)
      select 'login.password', '{}'::jsonb, ${marker}, now() - make_interval(days => ${days})
      from generate_series(1, ${n})`
    await insert(9, 7)
    await insert(6, 2)
    const url = stackInfo().serviceDatabaseUrl
    if (!url) throw new Error("this test needs Postgres at 127.0.0.1:5432")
    const database = openDatabase({ databaseUrl: url, poolMax: 1 })
    try {
      // Batches of 3: 7 old rows take three rounds, other runs' old rows may add to the count.
      const deleted = await pruneHookDeliveries(database, 7, 3)
      expect(deleted).toBeGreaterThanOrEqual(7)
    } finally {
      await database.close()
    }
    const left = await sql<{ n: number }[]>`
      select count(*)::int as n from hook_deliveries where request_id = ${marker}`
    expect(left[0]!.n).toBe(2)
    const older = await sql<{ n: number }[]>`
      select count(*)::int as n from hook_deliveries where received_at < now() - interval '7 days'`
    expect(older[0]!.n).toBe(0)
  })

  it("when the retention migration meets rows stored whole, then each keeps exactly what a new delivery keeps", async () => {
    const scratch = await scratchDatabase()
    try {
      const settings = settingsHookBody.parse({
        flow_id: randomUUID(),
        flow_type: "browser",
        flow_state: null,
        identity_id: randomUUID(),
        identity: { updated_at: null, state: "active", traits, metadata_public: { role: "admin" } },
        previous_traits: traits,
        action_nodes: ["lookup_secret_confirm", "totp_code"],
        client,
      })
      const login = loginHookBody.parse({
        flow_id: randomUUID(),
        flow_type: "api",
        requested_aal: "aal2",
        refresh: true,
        identity_id: randomUUID(),
        identity: { state: "active", metadata_public: null },
        session: {
          id: randomUUID(),
          aal: "aal2",
          authentication_methods: [
            { method: "password", aal: "aal1" },
            { method: "totp", aal: "aal2" },
          ],
        },
        client,
      })
      const noSession = loginHookBody.parse({ ...login, session: null, requested_aal: null })
      for (const body of [settings, login, noSession]) {
        await scratch.database.query(
          "insert into hook_deliveries (hook, payload) values ('x', $1::jsonb)",
          [JSON.stringify(body)],
        )
      }
      const migration = readFileSync(
        path.join(ROOT, "db/migrations/0005_hook_delivery_retention.sql"),
        "utf8",
      )
      const update = migration.split("--> statement-breakpoint").find((s) => /UPDATE/.test(s))
      await scratch.database.query(update!)
      const { rows } = await scratch.database.query<{ payload: unknown }>(
        "select payload from hook_deliveries order by id",
      )
      expect(rows.map((r) => r.payload)).toEqual([
        deliveryShape(settings),
        deliveryShape(login),
        deliveryShape(noSession),
      ])
    } finally {
      await scratch.drop()
    }
  })
})

import type { Database } from "../../db/client"
import {
  getOrgPolicy,
  getOrgPolicyCached,
  POLICY_CACHE_MS,
  updateOrgPolicy,
} from "../../webhooks/domain/org-policy"
import { scratchDatabase } from "../harness/databases"

describe("org policy on the hot paths (short-lived cache)", () => {
  let database: Database
  let drop: () => Promise<void>

  beforeAll(async () => {
    ;({ database, drop } = await scratchDatabase())
  }, 60_000)
  afterAll(() => drop?.())

  it("when another replica changes the policy, then this one applies it once the cache time has passed", async () => {
    const t = Date.now()
    expect((await getOrgPolicyCached(database.db, t)).ssoRequired).toBe(false)
    // As another replica would: straight in the database, not through this process.
    await database.query(`insert into org_policy (id, sso_required) values ('default', true)
      on conflict (id) do update set sso_required = true`)

    expect((await getOrgPolicyCached(database.db, t + POLICY_CACHE_MS - 1)).ssoRequired).toBe(false)
    expect((await getOrgPolicyCached(database.db, t + POLICY_CACHE_MS)).ssoRequired).toBe(true)
    expect((await getOrgPolicy(database.db)).ssoRequired).toBe(true)
  })

  it("when the policy is changed through this process, then the hot paths see it at once", async () => {
    const t = Date.now()
    await getOrgPolicyCached(database.db, t)
    await updateOrgPolicy(database.db, { require2faForEveryone: true }, "test")
    expect((await getOrgPolicyCached(database.db, t + 1)).require2faForEveryone).toBe(true)
  })

  it("when the database fails a read, then the caller gets the error and the next call reads again", async () => {
    let reads = 0
    const failing = {
      select: () => ({
        from: () => ({
          where: () => {
            reads++
            return Promise.reject(new Error("database down"))
          },
        }),
      }),
    } as unknown as Database["db"]
    await expect(getOrgPolicyCached(failing)).rejects.toThrow("database down")
    await expect(getOrgPolicyCached(failing)).rejects.toThrow("database down")
    expect(reads).toBe(2)
  })
})

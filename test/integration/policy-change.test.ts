import { randomUUID } from "node:crypto"
import { changeOrgPolicy } from "../../webhooks/domain/admin-actions"
import type { AdminActor } from "../../webhooks/domain/admin-users"
import { getOrgPolicy } from "../../webhooks/domain/org-policy"
import { scratchDatabase } from "../harness/databases"

const superAdmin = (): AdminActor => ({
  type: "admin",
  id: randomUUID(),
  role: "super_admin",
  email: "boss@example.com",
  ip: "203.0.113.9",
  userAgent: "test",
  requestId: randomUUID(),
})

describe("a policy change and its audit entry", () => {
  it("when the audit entry can't be written, then the policy is not changed either", async () => {
    const { database, drop } = await scratchDatabase()
    try {
      const before = await getOrgPolicy(database.db)
      await database.query(`
        create function refuse_audit() returns trigger language plpgsql as
          $$ begin raise exception 'audit trail unavailable'; end $$;
        create trigger refuse_audit before insert on audit_events
          for each row execute function refuse_audit();`)

      const failure = await changeOrgPolicy(database, superAdmin(), {
        passwordRotationDays: 30,
      }).then(
        () => null,
        (err: unknown) => err as Error & { cause?: Error },
      )
      // The driver's error, as it is or wrapped by the query builder.
      expect(`${failure?.message} ${failure?.cause?.message}`).toMatch(/audit trail unavailable/)

      const after = await getOrgPolicy(database.db)
      expect(after.passwordRotationDays).toBe(before.passwordRotationDays)
      expect(after.updatedAt).toEqual(before.updatedAt)
    } finally {
      await drop()
    }
  })

  it("when a super admin changes it, then the policy and one entry with before, after and the fields changed are written", async () => {
    const { database, drop } = await scratchDatabase()
    try {
      const admin = superAdmin()
      const after = await changeOrgPolicy(database, admin, { passwordRotationDays: 30 })
      expect(after.passwordRotationDays).toBe(30)
      expect((await getOrgPolicy(database.db)).passwordRotationDays).toBe(30)
      const { rows } = await database.query<{ actor_id: string; details: unknown }>(
        "select actor_id, details from audit_events where event = 'policy.updated'",
      )
      expect(rows).toHaveLength(1)
      expect(rows[0]!.actor_id).toBe(admin.id)
      expect(rows[0]!.details).toMatchObject({
        before: { passwordRotationDays: null },
        after: { passwordRotationDays: 30 },
        changed: ["passwordRotationDays"],
      })
    } finally {
      await drop()
    }
  })

  it("when an admin who is not a super admin tries, then it is refused and nothing is written", async () => {
    const { database, drop } = await scratchDatabase()
    try {
      await expect(
        changeOrgPolicy(database, { ...superAdmin(), role: "admin" }, { ssoRequired: true }),
      ).rejects.toMatchObject({ code: "FORBIDDEN" })
      expect((await getOrgPolicy(database.db)).ssoRequired).toBe(false)
      const { rows } = await database.query("select 1 from audit_events")
      expect(rows).toHaveLength(0)
    } finally {
      await drop()
    }
  })
})

describe("policy changes side by side", () => {
  it("when two super admins save different fields at once, then neither loses the other's change or its start time", async () => {
    const { database, drop } = await scratchDatabase()
    try {
      await Promise.all([
        changeOrgPolicy(database, superAdmin(), { require2faForEveryone: true }),
        changeOrgPolicy(database, superAdmin(), { mfaGracePeriodHours: 24 }),
      ])
      const after = await getOrgPolicy(database.db)
      expect(after.require2faForEveryone).toBe(true)
      expect(after.mfaGracePeriodHours).toBe(24)
      expect(after.coverageSince.everyone).toBeInstanceOf(Date)
      const { rows } = await database.query<{ n: number }>(
        "select count(*)::int as n from audit_events where event = 'policy.updated'",
      )
      expect(rows[0]!.n).toBe(2)
    } finally {
      await drop()
    }
  })
})

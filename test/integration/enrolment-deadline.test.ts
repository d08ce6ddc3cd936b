import type { Database } from "../../db/client"
import { enrolmentDeadline } from "../../webhooks/domain/gate"
import { getOrgPolicy, updateOrgPolicy } from "../../webhooks/domain/org-policy"
import { scratchDatabase } from "../harness/databases"
import { summary } from "../harness/summaries"

const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("2FA enrolment deadlines count from when a person became covered", () => {
  let database: Database
  let drop: () => Promise<void>

  beforeEach(async () => {
    ;({ database, drop } = await scratchDatabase())
  }, 60_000)
  afterEach(() => drop?.())

  it("when the organisation requires 2FA for everyone and later saves something else, then a long-standing member's deadline does not move", async () => {
    const member = summary({ createdAt: "2025-01-01T00:00:00.000Z" })
    const switchedOn = Date.now()
    await updateOrgPolicy(
      database.db,
      { require2faForEveryone: true, mfaGracePeriodHours: 48 },
      "t",
    )
    const first = enrolmentDeadline(member, await getOrgPolicy(database.db))
    expect(first.getTime()).toBeGreaterThanOrEqual(switchedOn + 48 * HOUR)
    expect(first.getTime()).toBeLessThan(Date.now() + 48 * HOUR + 1)

    await sleep(20)
    await updateOrgPolicy(database.db, { passwordRotationDays: 90 }, "t")
    await updateOrgPolicy(database.db, { ssoRequired: false, require2faForEveryone: true }, "t")
    const policy = await getOrgPolicy(database.db)
    expect(policy.updatedAt!.getTime()).toBeGreaterThan(first.getTime() - 48 * HOUR)
    expect(enrolmentDeadline(member, policy)).toEqual(first)
  })

  it("when someone joins after the requirement was switched on, then their deadline counts from joining", async () => {
    await updateOrgPolicy(
      database.db,
      { require2faForEveryone: true, mfaGracePeriodHours: 24 },
      "t",
    )
    const joined = new Date(Date.now() + 5 * HOUR).toISOString()
    const deadline = enrolmentDeadline(
      summary({ createdAt: joined }),
      await getOrgPolicy(database.db),
    )
    expect(deadline.toISOString()).toBe(new Date(Date.parse(joined) + 24 * HOUR).toISOString())
  })

  it("when the requirement is switched off and on again, then the deadline starts over from the second switch", async () => {
    const member = summary({ createdAt: "2025-01-01T00:00:00.000Z" })
    await updateOrgPolicy(database.db, { require2faForEveryone: true }, "t")
    const first = enrolmentDeadline(member, await getOrgPolicy(database.db))
    await sleep(20)
    await updateOrgPolicy(database.db, { require2faForEveryone: false }, "t")
    expect((await getOrgPolicy(database.db)).coverageSince.everyone).toBeUndefined()
    await updateOrgPolicy(database.db, { require2faForEveryone: true }, "t")
    expect(enrolmentDeadline(member, await getOrgPolicy(database.db)).getTime()).toBeGreaterThan(
      first.getTime(),
    )
  })

  it("when a role is added to the roles requiring 2FA, then its holders count from that moment, not from their old assignment", async () => {
    const member = summary({
      createdAt: "2025-01-01T00:00:00.000Z",
      metadataPublic: { role: "member", role_assigned_at: "2025-01-01T00:00:00.000Z" },
    })
    const added = Date.now()
    await updateOrgPolicy(
      database.db,
      { rolesRequiring2fa: ["member", "admin", "super_admin"], mfaGracePeriodHours: 72 },
      "t",
    )
    const policy = await getOrgPolicy(database.db)
    expect(policy.coverageSince.member?.getTime()).toBeGreaterThanOrEqual(added)
    // Roles required from the start keep counting from the role's assignment.
    expect(policy.coverageSince.admin).toBeUndefined()
    expect(enrolmentDeadline(member, policy).getTime()).toBeGreaterThanOrEqual(added + 72 * HOUR)

    const admin = summary({
      role: "admin",
      metadataPublic: { role: "admin", role_assigned_at: "2026-03-01T00:00:00.000Z" },
    })
    expect(enrolmentDeadline(admin, policy).toISOString()).toBe("2026-03-04T00:00:00.000Z")
  })
})

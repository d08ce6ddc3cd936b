import {
  driftOf,
  expectedKratos,
  REVISION_KEY,
  seedFrom,
  withAuthorization,
  type Authorization,
  type KratosSide,
} from "../../webhooks/domain/authorization"
import { summary } from "../harness/summaries"

const ID = "11111111-1111-4111-8111-111111111111"
const MANAGER = "22222222-2222-4222-8222-222222222222"

function record(over: Partial<Authorization> = {}): Authorization {
  return {
    identityId: ID,
    role: "admin",
    roleAssignedAt: new Date("2026-11-08T00:00:00.000Z"),
    managerId: MANAGER,
    forceRequired: true,
    forceSetAt: new Date("2026-11-09T10:00:00.000Z"),
    forceSetBy: "33333333-3333-4333-8333-333333333333",
    forceClearedAt: null,
    forceFingerprint: "fp-original",
    state: "active",
    stateChangedAt: null,
    version: 3,
    syncedVersion: 3,
    syncedAt: null,
    origin: "registration",
    updatedAt: new Date(),
    updatedBy: null,
    writeFlowId: null,
    writeUntil: null,
    ...over,
  }
}

/** Kratos holding exactly `record()`, plus keys kratos-guard does not own. */
function kratos(over: Partial<KratosSide> = {}): KratosSide {
  return {
    revision: "r1",
    metadataPublic: {
      role: "admin",
      role_assigned_at: "2026-11-08T00:00:00Z",
      force_password_change: {
        required: true,
        set_at: "2026-11-09T10:00:00.000000Z",
        set_by: "33333333-3333-4333-8333-333333333333",
        cleared_at: null,
      },
      theme: "dark",
      [REVISION_KEY]: "r1",
    },
    metadataAdmin: {
      manager_id: MANAGER.toUpperCase(),
      force_password_change_fingerprint: "fp-original",
      cost_centre: 42,
    },
    state: "active",
    ...over,
  }
}

describe("comparing Kratos's copy with the service's record", () => {
  it("when Kratos holds the same values, in other spellings of time and id, then there is no drift", () => {
    expect(driftOf(record(), kratos())).toEqual([])
  })

  it("when a settings submit wrote back an older copy, then each field it undid is drift", () => {
    const older = kratos({
      metadataPublic: { role: "super_admin", theme: "dark" },
      metadataAdmin: {},
      state: "inactive",
    })
    expect(driftOf(record(), older)).toEqual([
      "role",
      "role_assigned_at",
      "force_password_change",
      "manager_id",
      "force_password_change_fingerprint",
      "state",
    ])
  })

  it("when a value the record lacks is missing or null in Kratos, then both agree", () => {
    const bare = record({
      roleAssignedAt: null,
      managerId: null,
      forceRequired: false,
      forceSetAt: null,
      forceSetBy: null,
      forceFingerprint: null,
    })
    expect(driftOf(bare, kratos({ metadataPublic: { role: "admin" }, metadataAdmin: {} }))).toEqual(
      [],
    )
    expect(
      driftOf(
        bare,
        kratos({
          metadataPublic: { role: "admin", force_password_change: null, role_assigned_at: null },
          metadataAdmin: { manager_id: null },
        }),
      ),
    ).toEqual([])
  })

  it("when a malformed value sits where ours go, then it is drift (a parse would have hidden it)", () => {
    expect(
      driftOf(record({ role: "member" }), kratos({ metadataPublic: { role: "owner" } })),
    ).toContain("role")
    const flag = kratos().metadataPublic.force_password_change as Record<string, unknown>
    const tampered = kratos({
      metadataPublic: {
        ...kratos().metadataPublic,
        force_password_change: { ...flag, required: "no" },
      },
    })
    expect(driftOf(record(), tampered)).toEqual(["force_password_change"])
  })
})

describe("what Kratos should hold", () => {
  it("when written, then kratos-guard's keys come from the record and every other key stays", () => {
    const want = expectedKratos(record({ role: "member", managerId: null }), kratos(), "r2")
    expect(want.metadata_public).toEqual({
      role: "member",
      role_assigned_at: "2026-11-08T00:00:00.000Z",
      force_password_change: {
        required: true,
        set_at: "2026-11-09T10:00:00.000Z",
        set_by: "33333333-3333-4333-8333-333333333333",
        cleared_at: null,
      },
      theme: "dark",
      [REVISION_KEY]: "r2",
    })
    // The manager link is gone, the fingerprint and the operator's own key stay.
    expect(want.metadata_admin).toEqual({
      force_password_change_fingerprint: "fp-original",
      cost_centre: 42,
    })
    expect(want.state).toBe("active")
    expect(
      driftOf(record({ role: "member", managerId: null }), {
        revision: "r2",
        metadataPublic: want.metadata_public,
        metadataAdmin: want.metadata_admin,
        state: want.state,
      }),
    ).toEqual([])
  })

  it("when no revision is given, then Kratos's current one is kept", () => {
    expect(expectedKratos(record(), kratos()).metadata_public[REVISION_KEY]).toBe("r1")
  })
})

describe("a record seeded from Kratos (an identity older than the records)", () => {
  it("when Kratos's copy is well formed, then the record takes it and counts as in step", () => {
    const seeded = seedFrom(ID, kratos(), "kratos")
    expect(seeded).toMatchObject({
      role: "admin",
      managerId: MANAGER,
      forceRequired: true,
      forceFingerprint: "fp-original",
      state: "active",
      version: 1,
      syncedVersion: 1,
    })
  })

  it("when Kratos has no or a malformed role, then the record says member and is not in step yet", () => {
    const seeded = seedFrom(
      ID,
      kratos({ metadataPublic: { role: "owner" }, metadataAdmin: {} }),
      "kratos",
    )
    expect(seeded).toMatchObject({ role: "member", forceSetAt: null, syncedVersion: null })
  })
})

describe("the summary as the service decides it", () => {
  it("when overlaid, then role, manager, flag and state come from the record, credentials from Kratos", () => {
    const s = summary({ totp: { createdAt: "2026-10-02T10:00:00.000Z" }, state: "inactive" })
    const decided = withAuthorization(s, record())
    expect(decided).toMatchObject({
      role: "admin",
      state: "active",
      managerId: MANAGER,
      totp: { createdAt: "2026-10-02T10:00:00.000Z" },
      metadataPublic: {
        role: "admin",
        force_password_change: { required: true, set_at: "2026-11-09T10:00:00.000Z" },
      },
    })
    expect(withAuthorization(s, record({ forceSetAt: null })).metadataPublic).not.toHaveProperty(
      "force_password_change",
    )
  })
})

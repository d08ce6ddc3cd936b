import { changeEvents } from "../../webhooks/domain/change-events"
import { key, summary } from "../harness/summaries"

const names = (e: { event: string }[]) => e.map((x) => x.event)

describe("audit events of a persisted settings change", () => {
  it("when TOTP appears, then 2FA was enabled; when it goes, disabled", () => {
    const on = summary({ totp: { createdAt: "2026-11-02T00:00:00Z" } })
    expect(names(changeEvents("totp", summary(), on))).toEqual(["auth.2fa_enabled"])
    expect(names(changeEvents("totp", on, summary()))).toEqual(["auth.2fa_disabled"])
    expect(changeEvents("totp", on, on)).toEqual([])
  })

  it("when the stored password hash changed, then the password changed; when only its timestamp moved, nothing", () => {
    const after = summary({
      password: { updatedAt: "2026-11-05T00:00:00Z", fingerprint: "fp-new" },
    })
    const touched = summary({
      password: { updatedAt: "2026-11-05T00:00:00Z", fingerprint: "fp-original" },
    })
    expect(changeEvents("password", summary(), touched)).toEqual([])
    expect(names(changeEvents("password", summary(), after))).toEqual(["auth.password_changed"])
    expect(changeEvents("password", summary(), summary())).toEqual([])
  })

  it("when recovery codes were replaced, then they were regenerated; when they were removed, 2FA codes were disabled", () => {
    const a = summary({
      lookupSecret: { updatedAt: "t1", total: 12, unused: 12, fingerprint: "c1" },
    })
    const b = summary({
      lookupSecret: { updatedAt: "t1", total: 12, unused: 12, fingerprint: "c2" },
    })
    expect(names(changeEvents("lookup_secret", a, b))).toEqual([
      "auth.2fa_recovery_codes_regenerated",
    ])
    expect(changeEvents("lookup_secret", a, summary())[0]).toMatchObject({
      event: "auth.2fa_disabled",
      details: { method: "lookup_secret" },
    })
  })

  it("when a security key is added and another removed, then each is its own event naming the key", () => {
    const e = changeEvents(
      "webauthn",
      summary({ webauthn: [key("old")] }),
      summary({ webauthn: [key("new")] }),
    )
    expect(e.map((x) => [x.event, x.discriminator])).toEqual([
      ["auth.webauthn_added", "new"],
      ["auth.webauthn_removed", "old"],
    ])
  })

  it("when the before-state is unknown, then key changes are not guessed, but TOTP's after-state still counts", () => {
    expect(changeEvents("webauthn", null, summary({ webauthn: [key("x")] }))).toEqual([])
    expect(names(changeEvents("totp", null, summary({ totp: { createdAt: null } })))).toEqual([
      "auth.2fa_enabled",
    ])
  })

  it("when profile traits change, then only the changed field paths are listed", () => {
    const e = changeEvents("profile", summary(), summary(), {
      previous: { email: "a@x.io", name: { first: "A", last: "B" } },
      current: { email: "a@x.io", name: { first: "Ada", last: "B" } },
    })
    expect(e).toMatchObject([
      { event: "auth.profile_updated", details: { fields: ["name.first"] } },
    ])
  })
})

import fc from "fast-check"
import { decideSubmission, type SubmissionContext } from "../../webhooks/policy/submission"
import { encodeBody, parseBody } from "../../webhooks/proxy/canonical"

const settings: SubmissionContext = { flow: "settings", format: "json", ssoRequired: false }
const login: SubmissionContext = { flow: "login", format: "json", ssoRequired: false }
const STRONG = "Blue-Harbour-Lantern-42!"

describe("decideSubmission", () => {
  it("when a settings password breaks the rules, then it is refused with one message per rule", () => {
    const d = decideSubmission({ method: "password", password: "alllowercase" }, settings)
    expect(d.action).toBe("refuse")
    if (d.action !== "refuse") return
    expect(d.refusal.field?.map((m) => m.id)).toEqual([4100002, 4100003, 4100004])
    expect(d.refusal.param).toEqual(["password_policy", "failed"])
  })

  it("when the organisation is SSO-only, then a settings password is refused whatever it is", () => {
    const d = decideSubmission(
      { method: "password", password: STRONG },
      { ...settings, ssoRequired: true },
    )
    expect(d.action === "refuse" && d.refusal.param).toEqual(["password_policy", "sso_required"])
  })

  it("when a strong settings password passes, then only the password strategy's fields go on, and the reuse check is asked for", () => {
    const d = decideSubmission(
      {
        method: "password",
        password: STRONG,
        csrf_token: "c",
        totp_code: "1",
        flow: "x",
        extra: 1,
      },
      settings,
    )
    expect(d).toEqual({
      action: "forward",
      strategy: "password",
      fields: { csrf_token: "c", password: STRONG, method: "password" },
      intents: [],
      throttle: null,
      newPassword: STRONG,
    })
  })

  it("when a submission addresses two strategies (a password and a key removal), then it is rejected", () => {
    const d = decideSubmission(
      { method: "password", password: STRONG, webauthn_remove: "ab" },
      settings,
    )
    expect(d.action).toBe("reject")
  })

  it("when a WebAuthn key is removed without a method, then the webauthn strategy takes it and the intent carries the id", () => {
    const d = decideSubmission({ webauthn_remove: "ab12", csrf_token: "c" }, settings)
    expect(d).toMatchObject({
      action: "forward",
      strategy: "webauthn",
      fields: { webauthn_remove: "ab12", method: "webauthn", csrf_token: "c" },
      intents: [{ kind: "webauthn_remove", detail: "ab12" }],
    })
  })

  it("when totp_unlink is spelled as Go reads a boolean, then it is one unlink, forwarded as true (no intent: the hook sees the credential it removes)", () => {
    for (const v of [true, "true", "1", "t", "T", "TRUE", "True"]) {
      const d = decideSubmission({ totp_unlink: v }, settings)
      expect(d).toMatchObject({
        action: "forward",
        strategy: "totp",
        fields: { totp_unlink: true, method: "totp" },
        intents: [],
      })
    }
    expect(decideSubmission({ method: "totp", totp_unlink: "yes" }, settings).action).toBe("reject")
  })

  it("when a field Kratos reads as a string has another type, then it is rejected", () => {
    expect(decideSubmission({ method: "password", password: 123 }, settings).action).toBe("reject")
    expect(
      decideSubmission({ method: "password", identifier: ["a"], password: "x" }, login).action,
    ).toBe("reject")
  })

  it("when a password login comes with a spelled identifier, then the guess counts against Kratos's form of it", () => {
    const d = decideSubmission(
      { method: "password", identifier: " K\u0130W\u0130@Example.com\u0085", password: "x" },
      login,
    )
    expect(d.action === "forward" && d.throttle).toEqual({
      kind: "identifier",
      value: "kiwi@example.com",
    })
    const legacy = decideSubmission(
      { method: "password", password_identifier: "A@B.C", password: "x" },
      login,
    )
    expect(legacy.action === "forward" && legacy.throttle).toEqual({
      kind: "identifier",
      value: "a@b.c",
    })
  })

  it("when a second-factor code is submitted, then it counts against the session's identity", () => {
    for (const [method, field] of [
      ["totp", "totp_code"],
      ["lookup_secret", "lookup_secret"],
    ]) {
      const d = decideSubmission({ method, [field!]: "000000" }, login)
      expect(d.action === "forward" && d.throttle).toEqual({ kind: "session" })
    }
  })

  it("when any submission is forwarded, then its body holds one strategy's fields and reads back the same", () => {
    const value = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constantFrom("true", "1", "password", "totp"),
    )
    const keys = fc.constantFrom(
      "method",
      "password",
      "identifier",
      "totp_code",
      "totp_unlink",
      "webauthn_remove",
      "webauthn_register",
      "passkey_remove",
      "lookup_secret_disable",
      "lookup_secret_confirm",
      "csrf_token",
      "flow",
      "traits.email",
      "__proto__",
      "constructor",
    )
    fc.assert(
      fc.property(
        fc.dictionary(keys, value),
        fc.constantFrom("settings" as const, "login" as const, "registration" as const),
        fc.constantFrom("json" as const, "form" as const),
        (fields, flow, format) => {
          const input =
            format === "form"
              ? Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]))
              : fields
          const d = decideSubmission(input, { flow, format, ssoRequired: false })
          if (d.action !== "forward") return
          expect(d.fields.method).toBe(d.strategy)
          expect(Object.keys(d.fields)).not.toContain("flow")
          expect(Object.keys(d.fields)).not.toContain("__proto__")
          const again = parseBody(format, encodeBody(format, d.fields))
          expect(
            again.ok && decideSubmission(again.fields, { flow, format, ssoRequired: false }),
          ).toEqual(d)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

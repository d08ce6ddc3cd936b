import { type AuditHashContent, auditHash, canonicalJson } from "../../webhooks/domain/audit"

function content(): AuditHashContent {
  return {
    eventId: "1b4e28ba-2fa1-4d2b-883f-0016d3cca427",
    dedupKey: "flow:7f1c:auth.password_changed",
    event: "auth.password_changed",
    occurredAt: "2025-03-01T10:20:30.456Z",
    actorType: "user",
    actorId: "5d0a2f3e-6c1b-4a8e-9d3f-2b7c8e1a4f60",
    subjectId: "5d0a2f3e-6c1b-4a8e-9d3f-2b7c8e1a4f60",
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0",
    flowId: "7f1c9a2b-3d4e-4f50-8a6b-7c8d9e0f1a2b",
    requestId: "req-1",
    posture: { aal: "aal2", methods: ["totp", "webauthn"] },
    details: { via: "settings" },
  }
}

describe("canonical JSON", () => {
  it("when the same object has its keys in another order at any depth, then it gives the same text", () => {
    const a = { b: 1, a: { y: [1, { q: true, p: null }], x: "s" } }
    const b = { a: { x: "s", y: [1, { p: null, q: true }] }, b: 1 }
    expect(canonicalJson(a)).toBe(canonicalJson(b))
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}')
  })

  it("when an array's elements are reordered, then the text changes", () => {
    expect(canonicalJson({ m: ["totp", "webauthn"] })).not.toBe(
      canonicalJson({ m: ["webauthn", "totp"] }),
    )
  })

  it("when a value has undefined members or dates, then it gives what a jsonb round trip gives back", () => {
    const value = { when: new Date("2025-01-02T03:04:05.006Z"), gone: undefined, n: 1.5 }
    const roundTripped = JSON.parse(JSON.stringify(value)) as unknown
    expect(canonicalJson(value)).toBe(canonicalJson(roundTripped))
    expect(canonicalJson(value)).toBe('{"n":1.5,"when":"2025-01-02T03:04:05.006Z"}')
  })
})

describe("audit hash", () => {
  it("when the content's keys come back in another order, then the hash is the same", () => {
    const original = content()
    const reordered = Object.fromEntries(
      Object.entries(original).reverse(),
    ) as unknown as AuditHashContent
    reordered.posture = { methods: ["totp", "webauthn"], aal: "aal2" }
    expect(auditHash("abc", reordered)).toBe(auditHash("abc", original))
  })

  it.each(Object.keys(content()) as (keyof AuditHashContent)[])(
    "when %s changes, then the hash changes",
    (field) => {
      const changed = { ...content(), [field]: field === "posture" ? { aal: "aal1" } : "other" }
      expect(auditHash(null, changed)).not.toBe(auditHash(null, content()))
    },
  )

  it("when the previous entry's hash changes, then the hash changes", () => {
    expect(auditHash("a".repeat(64), content())).not.toBe(auditHash("b".repeat(64), content()))
    expect(auditHash(null, content())).not.toBe(auditHash("a".repeat(64), content()))
  })

  it("when a nullable field is null rather than empty, then the hash differs", () => {
    expect(auditHash(null, { ...content(), ip: null })).not.toBe(
      auditHash(null, { ...content(), ip: "" }),
    )
  })

  it("when computed, then it is a sha256 hex digest", () => {
    expect(auditHash(null, content())).toMatch(/^[0-9a-f]{64}$/)
  })
})

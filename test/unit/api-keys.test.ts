import type { Session } from "@ory/client"
import { createHash } from "node:crypto"
import fc from "fast-check"
import { generateApiKey, keyCap, parseApiKey, viewOf } from "../../webhooks/domain/api-keys"
import type { ApiKeyRow } from "../../webhooks/data/api-keys"
import { decideGate } from "../../webhooks/domain/gate"
import { policy, summary } from "../harness/summaries"

const URL = "https://id.example.com"
const limits = {
  maxPerAdmin: 3,
  maxPerMember: 10,
  requestsPerMinute: 600,
  maxFailuresPerIp: 20,
  failureWindowSeconds: 900,
}

function keyGate(over: { aal?: string; viaApiKey?: boolean; requiredAal?: "aal1" | "aal2" } = {}) {
  return decideGate({
    session: { id: "s", authenticator_assurance_level: over.aal } as unknown as Session,
    summary: summary({
      role: "admin",
      metadataPublic: { role: "admin", role_assigned_at: "2026-11-08T00:00:00Z" },
      totp: { createdAt: null },
    }),
    policy: policy(),
    publicUrl: URL,
    returnTo: null,
    viaApiKey: over.viaApiKey,
    requiredAal: over.requiredAal,
    now: new Date("2026-11-10T00:00:00Z"),
  })
}

describe("API keys", () => {
  it("when a key is generated, then it is kg_, a 16-hex id and a 64-hex secret (256 bits), and the kept hash is the secret's SHA-256", () => {
    const { key, keyId, secretHash } = generateApiKey()
    expect(key).toMatch(/^kg_[0-9a-f]{16}_[0-9a-f]{64}$/)
    const parsed = parseApiKey(key)!
    expect(parsed.keyId).toBe(keyId)
    expect(secretHash).toBe(createHash("sha256").update(parsed.secret).digest("hex"))
    expect(secretHash).not.toContain(parsed.secret)
    expect(generateApiKey().key).not.toBe(key)
  })

  it("when a key has any one character replaced by one outside its alphabet, or is cut or lengthened, then it does not parse", () => {
    const { key } = generateApiKey()
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: key.length - 1 }),
        fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[0-9a-fkg_]/.test(c)),
        (at, c) => {
          expect(parseApiKey(key.slice(0, at) + c + key.slice(at + 1))).toBeNull()
        },
      ),
    )
    for (const bad of [key.toUpperCase(), `${key}\n`, ` ${key}`, key.slice(0, -1), `${key}0`]) {
      expect(parseApiKey(bad)).toBeNull()
    }
  })

  it("when the cap is asked for a role, then admins get theirs and members theirs", () => {
    expect(keyCap(limits, "admin")).toBe(3)
    expect(keyCap(limits, "super_admin")).toBe(3)
    expect(keyCap(limits, "member")).toBe(10)
  })

  it("when a key is listed, then its view holds no secret or hash and says whether it is active, expired or revoked", () => {
    const row: ApiKeyRow = {
      id: "6f1c2b6e-8f3a-4a57-9a53-0f2b9b3b1c11",
      keyId: "0123456789abcdef",
      identityId: "0b1c2b6e-8f3a-4a57-9a53-0f2b9b3b1c11",
      label: "Kiosk",
      scope: "member",
      secretHash: "f".repeat(64),
      createdAt: new Date("2026-11-01T00:00:00Z"),
      createdBy: "0b1c2b6e-8f3a-4a57-9a53-0f2b9b3b1c11",
      expiresAt: new Date("2026-12-01T00:00:00Z"),
      lastUsedAt: null,
      lastUsedIp: null,
      revokedAt: null,
      revokedReason: null,
      revokedBy: null,
    }
    const at = (iso: string) => new Date(iso)
    expect(JSON.stringify(viewOf(row, at("2026-11-10T00:00:00Z")))).not.toContain("f".repeat(64))
    expect(viewOf(row, at("2026-11-10T00:00:00Z")).status).toBe("active")
    expect(viewOf(row, at("2026-12-02T00:00:00Z")).status).toBe("expired")
    expect(viewOf({ ...row, revokedAt: at("2026-11-05T00:00:00Z") }).status).toBe("revoked")
  })

  it("when the gate decides for a key, then its AAL is api_key, a second factor needs no step-up, and a route asking for AAL2 refuses it", () => {
    expect(keyGate({ viaApiKey: true })).toMatchObject({ allow: true, aal: "api_key" })
    expect(keyGate({ viaApiKey: true, requiredAal: "aal1" })).toMatchObject({ allow: true })
    expect(keyGate({ viaApiKey: true, requiredAal: "aal2" })).toMatchObject({
      allow: false,
      reason: "aal2_required",
      aal: "api_key",
    })
    // Sessions as before, and AAL2 asked of an AAL1 one sends it to step up.
    expect(keyGate({ aal: "aal1" })).toMatchObject({ allow: false, reason: "aal2_required" })
    expect(keyGate({ aal: "aal2", requiredAal: "aal2" })).toMatchObject({ allow: true })
  })
})

import { stackInfo } from "../harness/stack-info"
import fc from "fast-check"
import { staff } from "../harness/flows"
import { kratosClients } from "../harness/kratos"
import { PROPERTY_TIMEOUT_MS } from "../harness/hostile"
import { runs, send, useDifferentialService } from "../harness/differential"
import { build, envelopes, isCanonical } from "../harness/variants"

/** The differential suite (test/harness/differential.ts), on the second factors Kratos keeps, and its internal answers. */
useDifferentialService()

async function secondFactors(identityId: string): Promise<string[]> {
  const { data } = await kratosClients().identities.getIdentity({
    id: identityId,
    includeCredential: ["totp", "lookup_secret", "webauthn"],
  })
  const c = data.credentials ?? {}
  const out: string[] = []
  if (c.totp) out.push("totp")
  const codes = (c.lookup_secret?.config as { recovery_codes?: { used_at?: string }[] } | undefined)
    ?.recovery_codes
  if (codes?.some((r) => !r.used_at)) out.push("lookup_secret")
  const keys = (c.webauthn?.config as { credentials?: unknown[] } | undefined)?.credentials
  if (keys && keys.length > 0) out.push("webauthn")
  return out
}

describe("differential: no admin ends without a second factor", () => {
  const trueSpellings = [true, "true", "1", "t", "T", "TRUE", "True"]

  it(
    "when an admin's only second factor is removed in every spelling, then Kratos still holds it",
    async () => {
      let admin = await staff("admin")
      let used = 0
      let variants = 0
      await fc.assert(
        fc.asyncProperty(
          envelopes("/self-service/settings"),
          fc.constantFrom(...trueSpellings),
          fc.constantFrom(undefined, "totp", "password", "profile", "lookup_secret", "webauthn"),
          fc.constantFrom("none", "webauthn_remove", "lookup_secret_disable", "repeat false first"),
          async (env, unlink, method, extra) => {
            if (used++ >= 100) {
              admin = await staff("admin")
              used = 1
            }
            const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
              xSessionToken: admin.token,
            })
            const fields: [string, unknown][] = []
            if (method) fields.push(["method", method])
            if (extra === "repeat false first") fields.push(["totp_unlink", false])
            fields.push(["totp_unlink", unlink])
            if (extra === "webauthn_remove") fields.push(["webauthn_remove", "00"])
            if (extra === "lookup_secret_disable") fields.push(["lookup_secret_disable", true])
            const v = build(env, `flow=${flow.id}`, fields, { "x-session-token": admin.token })
            const reply = await send(v, `kg-diff-2fa-removal-${variants++}`)
            expect(reply.status).toBeLessThan(500)
            const factors = await secondFactors(admin.identityId)
            expect({ variant: v.label, canonical: isCanonical(env), factors }).toEqual({
              variant: v.label,
              canonical: isCanonical(env),
              factors: ["totp"],
            })
          },
        ),
        { numRuns: runs(500) },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it("when a form repeats webauthn_remove (the only key first, a decoy second), then it is refused before Kratos", async () => {
    const admin = await staff("admin")
    const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
      xSessionToken: admin.token,
    })
    const reply = await send(
      {
        label: "repeated webauthn_remove",
        method: "POST",
        path: `/self-service/settings?flow=${flow.id}`,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-session-token": admin.token,
        },
        body: Buffer.from("method=webauthn&webauthn_remove=aabbcc&webauthn_remove=00"),
      },
      "kg-diff-repeat",
    )
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.body).error.message).toMatch(/more than once/)
  })
})

describe("differential: Kratos's internal answers stay inside", () => {
  it("when a path climbs from a public prefix to Kratos's admin or health routes, then nothing of Kratos answers and no internal address leaks", async () => {
    const internal = [stackInfo().kratosAdminUrl, stackInfo().kratosPublicUrl].map(
      (u) => new URL(u).host,
    )
    for (const p of [
      "/sessions/../admin/identities",
      "/sessions/%2e%2e/admin/identities",
      "/sessions/%2E%2E/admin/identities",
      "/self-service/../health/ready",
      "/self-service/login/../../admin/identities",
      "/sessions//../admin/identities",
      "/admin/identities",
      "/identities",
      "/health/version",
      "/self-service/login/browser/../../../admin/identities",
    ]) {
      const reply = await send(
        { label: p, method: "GET", path: p, headers: {} },
        "kg-diff-internal",
      )
      // Either refused, or not Kratos's answer (the UI's page for an unknown path).
      const kratosJson = reply.status < 400 && /application\/json/.test(reply.contentType)
      expect({ p, kratosJson, redirect: reply.status >= 300 && reply.status < 400 }).toEqual({
        p,
        kratosJson: false,
        redirect: false,
      })
      for (const host of internal) expect(reply.body + reply.location).not.toContain(host)
    }
  })
})

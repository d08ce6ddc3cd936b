import { randomUUID } from "node:crypto"
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs"
import http from "node:http"
import type { AddressInfo } from "node:net"
import path from "node:path"
import { Configuration, FrontendApi } from "@ory/client"
import fc from "fast-check"
import { inProcessApp } from "../harness/app"
import { enrolRecoveryCodes, enrolTotp, staff, totpCode } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { PROPERTY_TIMEOUT_MS } from "../harness/hostile"
import { stackInfo } from "../harness/stack-info"
import {
  build,
  type Envelope,
  envelopes,
  identifierSpellings,
  isCanonical,
  sessionPlacements,
  type Variant,
} from "../harness/variants"

/**
 * The differential suite: each promise of the proxy checked over generated spellings of the
 * same request, against Kratos's own state — the password Kratos stores (a login with it), the
 * guesses Kratos answered (its request log), the factors Kratos keeps (its admin API). A status
 * code of ours is never the evidence.
 *
 * `DIFFERENTIAL_RUNS` scales the runs (CI: 1).
 */
const SCALE = Number(process.env.DIFFERENTIAL_RUNS ?? 1)
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))

const LIMIT = 3
const CLIENT_IP = `198.19.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`
let app: ReturnType<typeof inProcessApp>
let server: http.Server
let port = 0

/** Kratos public directly (not through the service): the oracle's own view. */
const direct = () => new FrontendApi(new Configuration({ basePath: stackInfo().kratosPublicUrl }))

beforeAll(async () => {
  app = inProcessApp({
    env: {
      TRUST_PROXY_HOPS: "1",
      LOGIN_MAX_FAILURES_PER_IDENTIFIER: String(LIMIT),
      LOGIN_MAX_FAILURES_PER_IP: "100000",
      LOGIN_BLOCK_BASE_SECONDS: "3600",
    },
  })
  server = http.createServer(app.app)
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  await app.close()
})

interface Reply {
  status: number
  body: string
  contentType: string
  location: string
}

/** Sends a variant as raw bytes on a fresh connection. */
function send(v: Variant, userAgent: string): Promise<Reply> {
  const headers: Record<string, string | string[]> = { host: `127.0.0.1:${port}` }
  for (const [k, val] of Object.entries(v.headers)) headers[k] = val
  for (const [k, val] of v.rawHeaders ?? []) {
    const prev = headers[k]
    headers[k] = prev === undefined ? val : [...(Array.isArray(prev) ? prev : [prev]), val]
  }
  headers["user-agent"] = userAgent
  // A client address of its own (198.18.0.0/15 is for tests), so these failures never count
  // against another test's address.
  headers["x-forwarded-for"] = CLIENT_IP
  if (v.body && !v.chunked) headers["content-length"] = String(v.body.length)
  if (v.chunked) headers["transfer-encoding"] = "chunked"
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: "127.0.0.1", port, method: v.method, path: v.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            contentType: String(res.headers["content-type"] ?? ""),
            location: String(res.headers.location ?? ""),
          }),
        )
        res.on("error", reject)
      },
    )
    r.on("error", reject)
    if (v.chunked && v.body) {
      // Two chunks, so the body really is chunked on the wire.
      r.write(v.body.subarray(0, Math.floor(v.body.length / 2)))
      r.end(v.body.subarray(Math.floor(v.body.length / 2)))
    } else r.end(v.body)
  })
}

/** Whether the password signs in at Kratos (directly, so no limit of ours is involved). */
async function kratosAccepts(identifier: string, password: string): Promise<boolean> {
  const { data: flow } = await direct().createNativeLoginFlow()
  return direct()
    .updateLoginFlow({
      flow: flow.id,
      updateLoginFlowBody: { method: "password", identifier, password },
    })
    .then(
      (r) => Boolean(r.data.session_token),
      () => false,
    )
}

/**
 * Kratos's request log from a point on: which login submissions it answered, and how, by the
 * user agent each variant was sent with. A marker request sent straight to Kratos afterwards
 * tells when the log has caught up.
 */
class LogTail {
  private readonly file = path.join(stackInfo().dataDir, "kratos.log")
  private readonly start = statSync(this.file).size

  async loginAnswers(tag: string): Promise<Map<string, number>> {
    const marker = `${tag}-marker-${randomUUID()}`
    await fetch(`${stackInfo().kratosPublicUrl}/health/alive`, {
      headers: { "user-agent": marker },
    })
    for (let i = 0; i < 200; i++) {
      const text = this.read()
      if (text.includes(marker)) {
        const out = new Map<string, number>()
        for (const line of text.split("\n")) {
          if (!line.includes(tag) || !line.includes('"completed handling request"')) continue
          const entry = JSON.parse(line) as {
            http_request: { method: string; path: string; headers: Record<string, string> }
            http_response: { status: number }
          }
          const ua = entry.http_request.headers["user-agent"]
          if (
            entry.http_request.method === "POST" &&
            entry.http_request.path === "/self-service/login" &&
            ua
          ) {
            out.set(ua, entry.http_response.status)
          }
        }
        return out
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error("Kratos's log did not catch up")
  }

  private read(): string {
    const fd = openSync(this.file, "r")
    try {
      const size = fstatSync(fd).size
      const buf = Buffer.alloc(size - this.start)
      readSync(fd, buf, 0, buf.length, this.start)
      return buf.toString("utf8")
    } finally {
      closeSync(fd)
    }
  }
}

const WEAK = ["aaaaaaaaaaaa", "alllowercase12345", "Short1!", "NoDigitsHere!!", "nosymbol12345A"]

/** The body fields of a password submission: weak, or a weak and a strong value for one key. */
const passwordFields = fc.oneof(
  fc
    .constantFrom(...WEAK)
    .map((w) => ({ weak: w, fields: [["password", w]] as [string, unknown][] })),
  fc.tuple(fc.constantFrom(...WEAK), fc.boolean()).map(([w, weakFirst]) => ({
    weak: w,
    fields: (weakFirst
      ? [
          ["password", w],
          ["password", STRONG_PASSWORD],
        ]
      : [
          ["password", STRONG_PASSWORD],
          ["password", w],
        ]) as [string, unknown][],
  })),
)

describe("differential: no stored password breaks the rules", () => {
  it(
    "when settings submissions with a weak password are spelled every way, then Kratos never stores one",
    async () => {
      const user = await registerNative()
      let seen = 0
      await fc.assert(
        fc.asyncProperty(
          envelopes("/self-service/settings"),
          sessionPlacements,
          passwordFields,
          fc.constantFrom("plain", "query copy", "upper-case id", "flow twice"),
          fc.boolean(),
          async (env, placement, pw, queryKind, withMethod) => {
            const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
              xSessionToken: user.sessionToken,
            })
            const query = {
              plain: `flow=${flow.id}`,
              "query copy": `flow=${flow.id}&method=password&password=${encodeURIComponent(pw.weak)}`,
              "upper-case id": `flow=${flow.id.toUpperCase()}`,
              "flow twice": `flow=${flow.id}&flow=${flow.id}`,
            }[queryKind]
            const fields: [string, unknown][] = [
              ...(withMethod ? [["method", "password"] as [string, unknown]] : []),
              ...pw.fields,
            ]
            const v = build(
              env,
              query,
              fields,
              placement.headers(user.sessionToken),
              placement.raw?.(user.sessionToken),
            )
            const reply = await send(v, `kg-diff-settings-${seen++}`)
            expect(reply.status).toBeLessThan(500)
            // Kratos's state: the weak password does not sign in.
            expect({
              variant: v.label,
              weakSignsIn: await kratosAccepts(user.email, pw.weak),
            }).toEqual({
              variant: v.label,
              weakSignsIn: false,
            })
          },
        ),
        {
          numRuns: runs(300),
          examples: [
            // The reproduction: a Content-Type list that reads as a form up front, JSON to Go.
            [
              {
                path: { label: "clean", path: "/self-service/settings" },
                contentType: {
                  label: "list form, json",
                  value: "application/x-www-form-urlencoded;charset=utf-8, application/json",
                },
                format: "json",
                coding: "length",
              } satisfies Envelope,
              { label: "x-session-token", headers: (t: string) => ({ "x-session-token": t }) },
              { weak: "aaaaaaaaaaaa", fields: [["password", "aaaaaaaaaaaa"]] },
              "plain",
              true,
            ],
            // The reproduction: paths Kratos's router cleans.
            ...["dot segment", "doubled slash", "encoded dot", "dot-dot from sessions"].map(
              (label) =>
                [
                  {
                    path: {
                      label,
                      path: {
                        "dot segment": "/self-service/./settings",
                        "doubled slash": "/self-service//settings",
                        "encoded dot": "/self-service/%2e/settings",
                        "dot-dot from sessions": "/sessions/../self-service/settings",
                      }[label]!,
                    },
                    contentType: { label: "json", value: "application/json" },
                    format: "json",
                    coding: "length",
                  } satisfies Envelope,
                  { label: "x-session-token", headers: (t: string) => ({ "x-session-token": t }) },
                  { weak: "aaaaaaaaaaaa", fields: [["password", "aaaaaaaaaaaa"]] },
                  "plain",
                  true,
                ] as const,
            ),
          ] as never,
        },
      )
      expect(seen).toBeGreaterThanOrEqual(runs(300))
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    "when registrations with a weak password are spelled every way, then nobody gets that password",
    async () => {
      let seen = 0
      await fc.assert(
        fc.asyncProperty(
          envelopes("/self-service/registration"),
          passwordFields,
          fc.boolean(),
          async (env, pw, nested) => {
            const email = `weak-${randomUUID().slice(0, 8)}@example.com`
            const { data: flow } = await direct().createNativeRegistrationFlow()
            const traits: [string, unknown][] =
              nested && env.format === "json" ? [["traits", { email }]] : [["traits.email", email]]
            const v = build(
              env,
              `flow=${flow.id}`,
              [["method", "password"], ...traits, ...pw.fields],
              {},
            )
            const reply = await send(v, `kg-diff-registration-${seen++}`)
            expect(reply.status).toBeLessThan(500)
            expect({ variant: v.label, weakSignsIn: await kratosAccepts(email, pw.weak) }).toEqual({
              variant: v.label,
              weakSignsIn: false,
            })
          },
        ),
        { numRuns: runs(200) },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})

describe("differential: no login guess past the limit", () => {
  /**
   * Which identifier spellings reach an account, asked of Kratos directly with the right
   * password on a probe account of the same shape (`kiwi-…@example.com`: an `i` and a `k`).
   */
  const reaches = new Map<string, boolean>()

  beforeAll(async () => {
    const probe = `kiwi-${randomUUID().slice(0, 8)}@example.com`
    await registerNative(probe)
    for (const s of identifierSpellings) {
      reaches.set(s.label, await kratosAccepts(s.apply(probe), STRONG_PASSWORD))
    }
    // The oracle must see both kinds, or it says nothing.
    expect([...reaches.values()]).toContain(true)
    expect([...reaches.values()]).toContain(false)
  }, PROPERTY_TIMEOUT_MS)

  it(
    "when wrong passwords come in every spelling, then Kratos answers at most the limit of them for the account, and a blocked account can't sign in",
    async () => {
      let variants = 0
      const spelling = fc.constantFrom(...identifierSpellings)
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(spelling, envelopes("/self-service/login")), {
            minLength: 5,
            maxLength: 5,
          }),
          fc.constantFrom(...identifierSpellings.filter((s) => reaches.get(s.label))),
          fc.constantFrom("identifier", "password_identifier"),
          async (wrong, rightSpelling, field) => {
            const email = `kiwi-${randomUUID().slice(0, 8)}@example.com`
            const user = await registerNative(email)
            const tag = `kg-diff-login-${randomUUID().slice(0, 8)}`
            const { data: flow } = await direct().createNativeLoginFlow()
            const sent: { ua: string; maps: boolean; right: boolean }[] = []
            const log = new LogTail()
            for (const [i, [t, env]] of wrong.entries()) {
              const ua = `${tag}-${i}`
              await send(
                build(
                  env,
                  `flow=${flow.id}`,
                  [
                    ["method", "password"],
                    [field, t.apply(email)],
                    ["password", `Wrong-Password-${i}!`],
                  ],
                  {},
                ),
                ua,
              )
              sent.push({ ua, maps: reaches.get(t.label) === true, right: false })
            }
            const ua = `${tag}-right`
            const right = await send(
              build(
                {
                  path: { label: "clean", path: "/self-service/login" },
                  contentType: { label: "json", value: "application/json" },
                  format: "json",
                  coding: "length",
                },
                `flow=${flow.id}`,
                [
                  ["method", "password"],
                  [field, rightSpelling.apply(email)],
                  ["password", user.password],
                ],
                {},
              ),
              ua,
            )
            sent.push({ ua, maps: true, right: true })
            variants += sent.length

            const answered = await log.loginAnswers(tag)
            const failuresOnAccount = sent.filter(
              (s) => !s.right && s.maps && answered.get(s.ua) === 400,
            ).length
            const signedIn = right.status === 200 && answered.get(ua) === 200
            const { data: sessions } = await kratosClients().identities.listIdentitySessions({
              id: user.identityId,
            })
            expect({ failuresOnAccount, atMost: failuresOnAccount <= LIMIT }).toEqual({
              failuresOnAccount,
              atMost: true,
            })
            // Kratos's own record: a session exists only for the registration (and the sign-in
            // when the account was not blocked).
            if (failuresOnAccount >= LIMIT) {
              expect({ signedIn, sessions: sessions.length }).toEqual({
                signedIn: false,
                sessions: 1,
              })
            }
          },
        ),
        { numRuns: runs(80) },
      )
      expect(variants).toBeGreaterThanOrEqual(runs(80) * 6)
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    "when wrong TOTP and recovery codes come with the session in every place, then Kratos answers at most the limit of them, and a blocked account can't step up",
    async () => {
      let variants = 0
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("totp" as const, "lookup_secret" as const),
          fc.array(fc.tuple(sessionPlacements, envelopes("/self-service/login")), {
            minLength: 5,
            maxLength: 5,
          }),
          sessionPlacements.filter((p) => p.label !== "token twice" && !p.label.includes("cookie")),
          async (method, wrong, rightPlacement) => {
            const user = await registerNative()
            const { secret } = await enrolTotp(user.sessionToken)
            if (method === "lookup_secret") await enrolRecoveryCodes(user.sessionToken)
            const { data: login } = await direct().createNativeLoginFlow()
            const { data: aal1 } = await direct().updateLoginFlow({
              flow: login.id,
              updateLoginFlowBody: {
                method: "password",
                identifier: user.email,
                password: user.password,
              },
            })
            const token = aal1.session_token!
            const { data: flow } = await direct().createNativeLoginFlow({
              aal: "aal2",
              xSessionToken: token,
            })
            const tag = `kg-diff-2fa-${randomUUID().slice(0, 8)}`
            const log = new LogTail()
            const field = method === "totp" ? "totp_code" : "lookup_secret"
            const sent: { ua: string; right: boolean }[] = []
            for (const [i, [placement, env]] of wrong.entries()) {
              const ua = `${tag}-${i}`
              await send(
                build(
                  env,
                  `flow=${flow.id}`,
                  [
                    ["method", method],
                    [field, method === "totp" ? "000000" : `wrong${i}xx`],
                  ],
                  placement.headers(token),
                  placement.raw?.(token),
                ),
                ua,
              )
              sent.push({ ua, right: false })
            }
            const right =
              method === "totp" ? totpCode(secret) : await oneRecoveryCode(user.identityId)
            const ua = `${tag}-right`
            await send(
              build(
                {
                  path: { label: "clean", path: "/self-service/login" },
                  contentType: { label: "json", value: "application/json" },
                  format: "json",
                  coding: "length",
                },
                `flow=${flow.id}`,
                [
                  ["method", method],
                  [field, right],
                ],
                rightPlacement.headers(token),
              ),
              ua,
            )
            sent.push({ ua, right: true })
            variants += sent.length

            const answered = await log.loginAnswers(tag)
            const failures = sent.filter((s) => !s.right && answered.get(s.ua) === 400).length
            expect({ failures, atMost: failures <= LIMIT }).toEqual({ failures, atMost: true })
            const { data: session } = await direct().toSession({ xSessionToken: token })
            if (failures >= LIMIT) {
              expect({ aal: session.authenticator_assurance_level }).toEqual({ aal: "aal1" })
            }
          },
        ),
        {
          numRuns: runs(50),
          examples: [
            // The reproduction: the session as a Bearer token, every wrong code counted.
            [
              "totp",
              Array.from({ length: 5 }, () => [
                { label: "bearer", headers: (t: string) => ({ authorization: `Bearer ${t}` }) },
                {
                  path: { label: "clean", path: "/self-service/login" },
                  contentType: { label: "json", value: "application/json" },
                  format: "json",
                  coding: "length",
                } satisfies Envelope,
              ]),
              { label: "bearer", headers: (t: string) => ({ authorization: `Bearer ${t}` }) },
            ],
          ] as never,
        },
      )
      expect(variants).toBeGreaterThanOrEqual(runs(50) * 6)
    },
    PROPERTY_TIMEOUT_MS,
  )
})

/**
 * The second factors Kratos holds for an identity: TOTP, unused recovery codes, WebAuthn keys
 * (Kratos can keep an empty `webauthn` credential after a settings flow; that is no factor).
 */
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

async function oneRecoveryCode(identityId: string): Promise<string> {
  const { data } = await kratosClients().identities.getIdentity({
    id: identityId,
    includeCredential: ["lookup_secret"],
  })
  const config = data.credentials?.lookup_secret?.config as
    { recovery_codes?: { code: string; used_at?: string }[] } | undefined
  const code = config?.recovery_codes?.find((c) => !c.used_at)?.code
  if (!code) throw new Error("no unused recovery code")
  return code
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

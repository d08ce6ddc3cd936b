import { randomUUID } from "node:crypto"
import fc from "fast-check"
import { enrolRecoveryCodes, enrolTotp, totpCode } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { PROPERTY_TIMEOUT_MS } from "../harness/hostile"
import {
  direct,
  kratosAccepts,
  LIMIT,
  LogTail,
  runs,
  send,
  useDifferentialService,
} from "../harness/differential"
import {
  build,
  type Envelope,
  envelopes,
  identifierSpellings,
  sessionPlacements,
} from "../harness/variants"

/** The differential suite (test/harness/differential.ts), on the login guesses that reach Kratos. */
useDifferentialService()

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

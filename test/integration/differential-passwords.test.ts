import { randomUUID } from "node:crypto"
import fc from "fast-check"
import { kratosClients, registerNative } from "../harness/kratos"
import { PROPERTY_TIMEOUT_MS } from "../harness/hostile"
import {
  direct,
  kratosAccepts,
  passwordFields,
  runs,
  send,
  useDifferentialService,
} from "../harness/differential"
import { build, type Envelope, envelopes, sessionPlacements } from "../harness/variants"

/** The differential suite (test/harness/differential.ts), on the passwords Kratos stores. */
useDifferentialService()

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

import { randomUUID } from "node:crypto"
import fc from "fast-check"
import { cleanPath } from "../../webhooks/proxy/canonical"
import type { z } from "zod"
import {
  hookPhases,
  loginHookBody,
  loginMethods,
  registrationHookBody,
  registrationMethods,
  settingsHookBody,
  settingsMethods,
} from "../../kratos/hooks/bodies"
import { inProcessApp } from "../harness/app"
import { recordedHookBody } from "../harness/hook-fixtures"
import { scratchDatabase } from "../harness/databases"
import {
  badSegment,
  dbSnapshot,
  hostilePayload,
  listen,
  mutated,
  type Payload,
  PROPERTY_TIMEOUT_MS,
  type Reply,
  RUNS_PER_ROUTE,
} from "../harness/hostile"
import { stackInfo } from "../harness/stack-info"

/**
 * Kratos's web_hooks and the operator's internal endpoint under hostile input, in-process
 * against a database of their own. A call without the right key is answered 401; with the
 * key, anything that is not a well-formed delivery (path, content type, encoding, body) gets a
 * 4xx in Kratos's message shape. Neither leaves a row anywhere: a hook_deliveries row stands
 * for a delivery the service accepted, never for a rejected body.
 */

/** Bodies as the real jsonnet sends them (recorded), which the properties then mutate. */
const validBodies = {
  settings: recordedHookBody("settings.totp.pre"),
  login: recordedHookBody("login.password"),
  registration: recordedHookBody("registration.password.pre"),
}

interface HookRoute {
  name: string
  /** The path from its segments; each is valid or hostile. */
  segments: fc.Arbitrary<{ path: string; valid: boolean }>
  schema: z.ZodType | null
  valid: Record<string, unknown>
  kratosShape: boolean
}

function segment(values: readonly string[]) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...values).map((v) => ({ v, valid: true })) },
    { weight: 2, arbitrary: badSegment.map((v) => ({ v, valid: values.includes(v) })) },
  )
}

const routes: HookRoute[] = [
  {
    name: "POST /hooks/settings/:method/:phase",
    segments: fc
      .tuple(segment(settingsMethods), segment(hookPhases))
      .map(([m, p]) => ({ path: `/hooks/settings/${m.v}/${p.v}`, valid: m.valid && p.valid })),
    schema: settingsHookBody,
    valid: validBodies.settings,
    kratosShape: true,
  },
  {
    name: "POST /hooks/login/:method",
    segments: segment(loginMethods).map((m) => ({ path: `/hooks/login/${m.v}`, valid: m.valid })),
    schema: loginHookBody,
    valid: validBodies.login,
    kratosShape: true,
  },
  {
    name: "POST /hooks/registration/:method/:phase",
    segments: fc
      .tuple(segment(registrationMethods), segment(hookPhases))
      .map(([m, p]) => ({ path: `/hooks/registration/${m.v}/${p.v}`, valid: m.valid && p.valid })),
    schema: registrationHookBody,
    valid: validBodies.registration,
    kratosShape: true,
  },
  {
    // A well-formed grant names nobody (random address): 404, so nothing here may pass.
    name: "POST /internal/roles",
    segments: fc.constant({ path: "/internal/roles", valid: true }),
    schema: null,
    valid: { email: `nobody-${randomUUID()}@example.com`, role: "super_admin" },
    kratosShape: false,
  },
]

let key: string
const wrongKey = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.constant(""),
  fc.constant(" "),
  fc.string({ maxLength: 80 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
  fc.constant("flip"),
  fc.constant("suffix"),
  fc.constant("prefix"),
  fc.constant("twice"),
)
function keyValue(kind: string | undefined): string | undefined {
  switch (kind) {
    case "flip":
      return key.replace(/.$/, (c) => (c === "a" ? "b" : "a"))
    case "suffix":
      return `${key}x`
    case "prefix":
      return key.slice(0, key.length / 2)
    case "twice":
      return `${key}, ${key}`
    default:
      return kind
  }
}

function requestFor(path: string, method: string, payload: Payload, hookKey?: string) {
  const headers: Record<string, string> = {}
  if (hookKey !== undefined) headers.authorization = `Bearer ${hookKey}`
  if (payload.contentType !== undefined) headers["content-type"] = payload.contentType
  if (payload.contentEncoding) headers["content-encoding"] = payload.contentEncoding
  return { method, path, headers, body: payload.body }
}

/** Whether the service would take this as a delivery (then it is no hostile case). */
function acceptable(route: HookRoute, pathValid: boolean, method: string, p: Payload): boolean {
  if (!route.schema || !pathValid || method !== "POST") return false
  if (p.contentType !== "application/json" || p.contentEncoding || p.body === undefined)
    return false
  try {
    return route.schema.safeParse(JSON.parse(String(p.body))).success
  } catch {
    return false
  }
}

function expectKratosShape(res: Reply): void {
  const body = JSON.parse(res.body) as {
    messages: { messages: { id: number; text: string; type: string }[] }[]
  }
  expect(body.messages[0]!.messages[0]).toMatchObject({ type: "error" })
  expect(typeof body.messages[0]!.messages[0]!.text).toBe("string")
}

describe("hooks and the internal endpoint under hostile input", () => {
  let server: Awaited<ReturnType<typeof listen>>
  let scratch: Awaited<ReturnType<typeof scratchDatabase>>
  let databaseUrl: string
  let closeApp: () => Promise<void>

  beforeAll(async () => {
    key = stackInfo().webhookApiKey
    scratch = await scratchDatabase()
    databaseUrl = scratch.url
    const { app, close } = inProcessApp({ database: scratch.database })
    closeApp = close
    server = await listen(app)
  })

  afterAll(async () => {
    await server?.close()
    await closeApp?.()
    await scratch?.drop()
  })

  const httpMethod = fc.oneof(
    { weight: 9, arbitrary: fc.constant("POST") },
    { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS") },
  )

  for (const route of routes) {
    it(
      `when ${route.name} is called without the right key, then it answers 401 and writes nothing`,
      async () => {
        const before = await dbSnapshot(databaseUrl)
        await fc.assert(
          fc.asyncProperty(
            route.segments,
            httpMethod,
            wrongKey,
            hostilePayload(mutated(route.valid), route.valid),
            async (seg, method, kind, payload) => {
              const res = await server.send(requestFor(seg.path, method, payload, keyValue(kind)))
              // A path with two readings (`%`, dot segments) is refused before anything else.
              expect(res.status).toBe(cleanPath(seg.path) === null ? 400 : 401)
              if (route.kratosShape) expectKratosShape(res)
              expect(res.body).not.toContain(key)
            },
          ),
          { numRuns: RUNS_PER_ROUTE },
        )
        expect(await dbSnapshot(databaseUrl)).toEqual(before)
      },
      PROPERTY_TIMEOUT_MS,
    )

    it(
      `when ${route.name} gets the right key but a malformed call, then it answers a clear 4xx${route.kratosShape ? " in Kratos's shape" : ""} and writes nothing`,
      async () => {
        const before = await dbSnapshot(databaseUrl)
        const seen = new Set<number>()
        await fc.assert(
          fc.asyncProperty(
            route.segments,
            httpMethod,
            hostilePayload(mutated(route.valid), route.valid),
            async (seg, method, payload) => {
              fc.pre(!acceptable(route, seg.valid, method, payload))
              const res = await server.send(requestFor(seg.path, method, payload, key))
              seen.add(res.status)
              expect(res.status).toBeGreaterThanOrEqual(400)
              expect(res.status).toBeLessThan(500)
              expect(res.status).not.toBe(401)
              if (route.kratosShape) expectKratosShape(res)
              else
                expect(JSON.parse(res.body)).toMatchObject({ error: { code: expect.any(String) } })
            },
          ),
          { numRuns: RUNS_PER_ROUTE },
        )
        expect(await dbSnapshot(databaseUrl)).toEqual(before)
        // The cases reached every stage: body parser, content-type check, schema, routing.
        expect([...seen].sort()).toEqual(expect.arrayContaining([400, 404, 413, 415]))
      },
      PROPERTY_TIMEOUT_MS,
    )
  }

  it("when the key arrives in another header or the query, then it does not count", async () => {
    const before = await dbSnapshot(databaseUrl)
    const body = JSON.stringify(validBodies.registration)
    for (const [path, headers] of [
      [`/hooks/registration/password/pre?authorization=Bearer%20${key}`, {}],
      ["/hooks/registration/password/pre", { authorization: key }],
      ["/hooks/registration/password/pre", { authorization: `Basic ${key}` }],
      ["/hooks/registration/password/pre", { "x-kratos-guard-key": key }],
      ["/hooks/registration/password/pre", { cookie: `authorization=Bearer ${key}` }],
    ] as const) {
      const res = await server.send({
        method: "POST",
        path,
        headers: { "content-type": "application/json", ...headers },
        body,
      })
      expect(res.status).toBe(401)
    }
    expect(await dbSnapshot(databaseUrl)).toEqual(before)
  })
})

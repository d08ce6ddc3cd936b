import { randomUUID } from "node:crypto"
import fc from "fast-check"
import { cleanPath } from "../../webhooks/proxy/canonical"
import { inProcessApp } from "./app"
import { browserRegistration } from "./browser-session"
import { scratchDatabase } from "./databases"
import { staff } from "./flows"
import {
  anyJson,
  anyQuery,
  appRoutes,
  badSegment,
  dbSnapshot,
  hostilePayload,
  lazyJson,
  listen,
  mutated,
  nastyString,
  type Payload,
  percentEncode,
  PROPERTY_TIMEOUT_MS,
  RUNS_PER_ROUTE,
} from "./hostile"
import { kratosClients, registerNative } from "./kratos"
import { stackInfo } from "./stack-info"

/**
 * Every route of the app, checked against Express's own route list so a new one can't be left
 * out. `/api/*` routes get property runs here; the hooks and the internal endpoint in
 * hostile-hooks.test.ts; health and the UI fallback take no input.
 */
const NOT_HERE = {
  "GET /health/alive": "no input",
  "GET /health/ready": "no input",
  "POST /hooks/settings/:method/:phase": "hostile-hooks.test.ts",
  "POST /hooks/login/:method": "hostile-hooks.test.ts",
  "POST /hooks/registration/:method/:phase": "hostile-hooks.test.ts",
  "POST /internal/roles": "hostile-hooks.test.ts",
  "GET /^(?!\\/(api|hooks|health|internal)(\\/|$)).*/": "the UI's index.html",
}

type Cred =
  | "none"
  | "forgedCookie"
  | "garbageCookie"
  | "tamperedCookie"
  | "revokedCookie"
  | "forgedToken"
  | "revokedToken"
  | "memberToken"
  | "memberCookie"
  | "adminAal1Token"
  | "adminToken"

/** Cases sent at once; a property run is one batch. */
const BATCH = 8
/**
 * Cases per route that carry a cookie or token, each a session lookup at Kratos (tens of ms on a
 * busy 2-core machine); the other RUNS_PER_ROUTE cases per route carry none.
 */
const SESSION_RUNS = Number(process.env.HOSTILE_SESSION_RUNS ?? 200)

const VALID_SESSION: Cred[] = ["memberToken", "memberCookie", "adminAal1Token", "adminToken"]

interface Param {
  /** A value that is no valid target: not a UUID, nobody, oneself, someone out of reach. */
  bad: fc.Arbitrary<string>
}

interface ApiRoute {
  access: "session" | "admin" | "nobody"
  /** Path params in order (the path's `:name`s). */
  params?: Param[]
  /** A query this route answers 400; absent when the route reads no query. */
  badQuery?: fc.Arbitrary<string>
  /** A body this route answers 4xx; absent when the route reads no body. */
  badBody?: fc.Arbitrary<Payload>
}

const people = { self: "", otherAdmin: "" }
const unknownId = fc.uuid({ version: 4 })
// Never empty: `/api/me/sessions/` is another route.
const notUuid = fc.oneof(
  badSegment,
  nastyString.map((s) => percentEncode(s.slice(0, 50))).filter((s) => s !== ""),
)
const idParam: Param = { bad: fc.oneof(notUuid, unknownId) }
/** Routes that refuse an admin acting on themselves or on another admin. */
const guardedIdParam: Param = {
  bad: fc.oneof(
    notUuid,
    unknownId,
    // Oneself in any mix of cases: the "never yourself" checks compare canonical ids.
    fc.constant("self").chain(() => fc.mixedCase(fc.constant(people.self))),
    fc.constant("other admin").map(() => people.otherAdmin),
  ),
}

const withJunk = (bad: fc.Arbitrary<string>) =>
  fc.tuple(bad, anyQuery).map(([b, junk]) => [b, junk].filter(Boolean).join("&"))
/** Any non-empty query: routes that take none answer it 400. */
const someQuery = withJunk(
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 10 }), nastyString)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v.slice(0, 100))}`),
)
/** Values that are no integer from min to max, however zod coerces them. */
const notIntIn = (min: number, max: number) =>
  fc
    .oneof(
      fc.constantFrom("-1", "0", "abc", "1e9", "1.5", "", "999999999999999999999", "0x10", " 5"),
      nastyString,
      fc.integer().map(String),
    )
    .filter((v) => {
      const n = Number(v)
      return !(Number.isInteger(n) && n >= min && n <= max)
    })
/** A cursor value no one handed out (an empty one means "first page"). */
const badCursor = (max: number) => nastyString.map((c) => c.slice(0, max)).filter((c) => c !== "")
const enc = (s: string) => percentEncode(s)

const json = (body: unknown): Payload => lazyJson("json", () => body)
/**
 * Bodies a strict zod object with these valid values refuses: mutations that also carry a key
 * the schema does not know, a field of a type it never takes, or an unknown key.
 */
function badStrictBody(valid: Record<string, unknown>) {
  const withUnknownKey = (b: unknown) =>
    b !== null && typeof b === "object" && !Array.isArray(b) ? { ...b, unexpected: 1 } : b
  return fc.oneof(
    hostilePayload(mutated(valid).map(withUnknownKey), valid),
    fc
      .tuple(
        fc.oneof(fc.integer(), fc.boolean(), fc.constant([]), fc.constant({ a: 1 })),
        fc.constantFrom(...Object.keys(valid)),
      )
      .map(([v, k]) => json({ ...valid, [k]: v })),
    anyJson.map((v) => json({ ...valid, ["unexpected_" + String(typeof v)]: v })),
  )
}

const routes: Record<string, ApiRoute> = {
  "GET /api/auth/gate": { access: "session" },
  "POST /api/auth/ack-password-change": { access: "session" },
  "GET /api/me/security": { access: "session", badQuery: someQuery },
  "GET /api/me/activity": {
    access: "session",
    badQuery: withJunk(
      fc.oneof(
        notIntIn(1, 100).map((n) => `limit=${enc(n)}`),
        badCursor(300).map((c) => `cursor=${enc(c)}`),
        fc.constant("limit=1&limit=2"),
        fc.constant("cursor=a&cursor=b"),
        fc.constant("unknown=1"),
      ),
    ),
  },
  "GET /api/me/sessions": { access: "session", badQuery: someQuery },
  "DELETE /api/me/sessions/:id": { access: "session", params: [idParam] },
  "DELETE /api/me/sessions": { access: "session", badQuery: someQuery },
  "GET /api/me/notifications": { access: "session", badQuery: someQuery },
  "PUT /api/me/notifications": {
    access: "session",
    // Never a valid switch: an unknown key with any mutation, a value that is no boolean, or a
    // mandatory mail switched off (409).
    badBody: fc.oneof(
      hostilePayload(
        mutated({ "user.2fa_enabled": true }).map((b) =>
          b !== null && typeof b === "object" && !Array.isArray(b) ? { ...b, unexpected: 1 } : b,
        ),
        { "user.2fa_enabled": true },
      ),
      fc
        .oneof(fc.integer(), nastyString, fc.constant(null), fc.constant([]), fc.constant({}))
        .map((v) => json({ "user.2fa_enabled": v })),
      fc.constant(json({ "user.password_changed": false })),
    ),
  },
  "GET /api/me/api-keys": { access: "session", badQuery: someQuery },
  "POST /api/me/api-keys": {
    access: "session",
    badBody: badStrictBody({ label: "Kiosk", expires_at: null }),
  },
  "DELETE /api/me/api-keys/:keyId": { access: "session", params: [idParam] },
  "GET /api/admin/users/:id/api-keys": {
    access: "admin",
    params: [idParam],
    badQuery: someQuery,
  },
  "POST /api/admin/users/:id/api-keys": {
    access: "admin",
    params: [idParam],
    badBody: badStrictBody({ label: "Kiosk", scope: "member" }),
  },
  "DELETE /api/admin/users/:id/api-keys/:keyId": {
    access: "admin",
    params: [idParam, idParam],
  },
  "GET /api/me/recovery-request": { access: "session", badQuery: someQuery },
  "POST /api/me/recovery-request/code": { access: "session" },
  "POST /api/me/recovery-request": {
    access: "session",
    badBody: badStrictBody({ code: "123456", reason: "My phone was stolen on the train." }),
  },
  "GET /api/admin/recovery-requests": {
    access: "admin",
    badQuery: withJunk(
      fc.oneof(
        nastyString
          .filter((s) => !["open", "approved", "denied", "expired", "all"].includes(s))
          .map((s) => `status=${enc(s)}`),
        fc.constant("status=open&status=all"),
        fc.constant("limit=5"),
      ),
    ),
  },
  "POST /api/admin/recovery-requests/:id/approve": { access: "admin", params: [idParam] },
  "POST /api/admin/recovery-requests/:id/deny": {
    access: "admin",
    params: [idParam],
    badBody: badStrictBody({ note: "Call the service desk first." }),
  },
  "GET /api/admin/users": {
    access: "admin",
    badQuery: withJunk(
      fc.oneof(
        nastyString
          .filter((r) => !["member", "admin", "super_admin"].includes(r))
          .map((r) => `role=${enc(r)}`),
        notIntIn(0, 100_000).map((n) => `offset=${enc(n)}`),
        notIntIn(1, 200).map((n) => `limit=${enc(n)}`),
        fc.integer({ min: 300, max: 3000 }).map((n) => `search=${"s".repeat(n)}`),
      ),
    ),
  },
  "POST /api/admin/users": {
    access: "admin",
    badBody: badStrictBody({
      email: `nobody-${randomUUID()}@example.com`,
      first_name: "A",
      last_name: "B",
      role: "member",
    }),
  },
  "GET /api/admin/users/:id": { access: "admin", params: [idParam] },
  "PUT /api/admin/users/:id/role": {
    access: "admin",
    params: [guardedIdParam],
    badBody: badStrictBody({ role: "member" }),
  },
  "PUT /api/admin/users/:id/manager": {
    access: "admin",
    params: [idParam],
    badBody: badStrictBody({ manager_id: null }),
  },
  "POST /api/admin/users/:id/force-password-change": { access: "admin", params: [idParam] },
  "POST /api/admin/users/:id/reset-2fa": { access: "admin", params: [guardedIdParam] },
  "POST /api/admin/users/:id/revoke-sessions": { access: "admin", params: [idParam] },
  "POST /api/admin/users/:id/deactivate": { access: "admin", params: [guardedIdParam] },
  "POST /api/admin/users/:id/reactivate": { access: "admin", params: [guardedIdParam] },
  "GET /api/admin/audit": {
    access: "admin",
    badQuery: withJunk(
      fc.oneof(
        nastyString.map((a) => `actor=${enc(a.slice(0, 100))}`),
        nastyString.map((a) => `subject=${enc(a.slice(0, 100))}`),
        nastyString.map((d) => `from=${enc(d.slice(0, 100))}`),
        fc.constantFrom("to=2024-13-45T00:00:00Z", "to=yesterday", "from=1700000000"),
        badCursor(150).map((c) => `cursor=${enc(c)}`),
        notIntIn(1, 100).map((n) => `limit=${enc(n)}`),
        fc.integer({ min: 300, max: 3000 }).map((n) => `cursor=${"c".repeat(n)}`),
        fc.constant("unknown=1"),
      ),
    ),
  },
  "GET /api/admin/audit.csv": {
    access: "admin",
    badQuery: withJunk(
      fc.oneof(
        nastyString.map((a) => `actor=${enc(a.slice(0, 100))}`),
        nastyString.map((d) => `from=${enc(d.slice(0, 100))}`),
        fc.constantFrom("cursor=x", "limit=5", "unknown=1"),
      ),
    ),
  },
  "GET /api/admin/notifications": {
    access: "admin",
    badQuery: withJunk(
      fc.oneof(
        nastyString.filter((s) => s !== "dead" && s !== "retrying").map((s) => `status=${enc(s)}`),
        badCursor(150).map((c) => `cursor=${enc(c)}`),
        notIntIn(1, 500).map((n) => `limit=${enc(n)}`),
        fc.constant("unknown=1"),
      ),
    ),
  },
  "POST /api/admin/notifications/:id/retry": { access: "admin", params: [idParam] },
  // Outbound security events: admins look and retry; only a super admin changes subscribers,
  // so with an admin's session every change is refused.
  "GET /api/admin/event-subscribers": { access: "admin", badQuery: someQuery },
  "POST /api/admin/event-subscribers": {
    access: "nobody",
    badBody: badStrictBody({
      name: "SIEM",
      url: "https://93.184.215.14/in",
      event_types: ["auth.*"],
    }),
  },
  "PUT /api/admin/event-subscribers/:id": {
    access: "nobody",
    params: [idParam],
    badBody: badStrictBody({ enabled: false }),
  },
  "DELETE /api/admin/event-subscribers/:id": { access: "nobody", params: [idParam] },
  "POST /api/admin/event-subscribers/:id/rotate-secret": {
    access: "nobody",
    params: [idParam],
    badBody: badStrictBody({ previous_valid_hours: 24 }),
  },
  "POST /api/admin/event-subscribers/:id/replay": {
    access: "nobody",
    params: [idParam],
    badBody: badStrictBody({ from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }),
  },
  "GET /api/admin/event-subscribers/:id/deliveries": {
    access: "admin",
    params: [idParam],
    badQuery: withJunk(
      fc.oneof(
        nastyString
          .filter((s) => !["pending", "delivered", "dead"].includes(s))
          .map((s) => `status=${enc(s)}`),
        badCursor(150)
          .filter((c) => !/^\d{1,18}$/.test(c))
          .map((c) => `cursor=${enc(c)}`),
        notIntIn(1, 200).map((n) => `limit=${enc(n)}`),
        fc.constant("unknown=1"),
      ),
    ),
  },
  "POST /api/admin/event-deliveries/:id/retry": { access: "admin", params: [idParam] },
  "GET /api/admin/policy": { access: "admin" },
  // Only a super admin changes the policy: with an admin's session every body is refused.
  "PUT /api/admin/policy": {
    access: "nobody",
    badBody: hostilePayload(mutated({ mfa_grace_period_hours: 1 }), { mfa_grace_period_hours: 1 }),
  },
}

/**
 * The suite, for one part of the routes (every `of`-th from `part`), so jest's workers run the
 * parts side by side (test/integration/hostile-api-*.test.ts); the first part also checks that
 * every route of the app is covered.
 */
export function hostileApiSuite(part: number, of: number): void {
  describe(`the /api routes under hostile input (part ${part + 1} of ${of})`, () => {
    let server: Awaited<ReturnType<typeof listen>>
    let scratch: Awaited<ReturnType<typeof scratchDatabase>>
    let closeApp: () => Promise<void>
    let appRouteList: string[]
    const creds = {} as Record<Cred, { cookie?: string; token?: string }>

    beforeAll(async () => {
      scratch = await scratchDatabase()
      const { app, close, deps } = inProcessApp({ database: scratch.database })
      closeApp = close
      appRouteList = appRoutes(app)
      server = await listen(app)

      const [member, browser, revokedBrowser, revoked, adminAal1, admin] = await Promise.all([
        registerNative(),
        browserRegistration(),
        browserRegistration(),
        registerNative(),
        staff("admin", "aal1"),
        staff("admin", "aal2"),
      ])
      people.self = admin.identityId
      people.otherAdmin = adminAal1.identityId
      const { frontend, identities } = kratosClients()
      await frontend.performNativeLogout({
        performNativeLogoutBody: { session_token: revoked.sessionToken },
      })
      await identities.deleteIdentitySessions({ id: revokedBrowser.identityId })
      const value = browser.sessionCookie.split("=")[1]!
      const tampered = value.slice(0, 20) + (value[20] === "A" ? "B" : "A") + value.slice(21)
      Object.assign(creds, {
        none: {},
        forgedCookie: {
          cookie: `ory_kratos_session=${Buffer.from(randomUUID()).toString("base64")}`,
        },
        garbageCookie: { cookie: "ory_kratos_session=%%%; =;; ory_kratos_session" },
        tamperedCookie: { cookie: `ory_kratos_session=${tampered}` },
        revokedCookie: { cookie: revokedBrowser.cookieHeader },
        forgedToken: { token: `ory_st_${randomUUID().replace(/-/g, "")}` },
        revokedToken: { token: revoked.sessionToken },
        memberToken: { token: member.sessionToken },
        memberCookie: { cookie: browser.cookieHeader },
        adminAal1Token: { token: adminAal1.token },
        adminToken: { token: admin.token },
      })
      // This scratch database has no records of these people yet (Kratos made them for another
      // one): store them now, as a first change would, so none is a write of a case.
      const { ensureAuthorization } = await import("../../webhooks/domain/authorization")
      for (const p of [member, browser, revokedBrowser, revoked, adminAal1, admin]) {
        await ensureAuthorization(deps, p.identityId)
      }
    })

    afterAll(async () => {
      await server?.close()
      await closeApp?.()
      await scratch?.drop()
    })

    if (part === 0)
      it("when the app's routes are listed, then each one is covered by a hostile-input property", () => {
        const covered = [...Object.keys(routes), ...Object.keys(NOT_HERE)].sort()
        expect([...appRouteList].sort()).toEqual(covered)
      })

    /** Whether these credentials reach the route's handler. */
    function grants(route: ApiRoute, cred: Cred): boolean {
      if (!VALID_SESSION.includes(cred)) return false
      if (route.access === "session") return true
      if (route.access === "admin") return cred === "adminToken"
      return false
    }

    for (const [i, [name, route]] of Object.entries(routes).entries()) {
      if (i % of !== part) continue
      const [method, template] = name.split(" ") as [string, string]
      const changing = !["GET", "HEAD", "OPTIONS"].includes(method)
      const checks = [
        ...(route.badQuery ? ["query" as const] : []),
        ...(route.badBody ? ["body" as const] : []),
      ]
      const canBeInvalid = Boolean(route.params) || checks.length > 0
      // Credentials that reach the handler of a route with nothing to make invalid would make a
      // valid call: they are left out, but for cookies on a state-changing route (CSRF fails).
      const usable = allCreds().filter(
        (c) => canBeInvalid || !grants(route, c) || (changing && c.endsWith("Cookie")),
      )
      const hostileCase = (credList: Cred[]) =>
        fc.record({
          cred: fc.constantFrom(...credList),
          origin: fc.constantFrom<string | undefined>(
            undefined,
            new URL(stackInfo().publicUrl).origin,
            "https://evil.example",
            "null",
          ),
          csrf: fc.constantFrom<string | undefined>(undefined, "1", "0", "true"),
          badParams: fc.tuple(...(route.params ?? []).map((p) => p.bad)),
          anyParams: fc.boolean(),
          query: fc.option(route.badQuery ?? anyQuery, { nil: undefined }),
          mustQuery: route.badQuery ?? fc.constant(""),
          body: fc.option(route.badBody ?? hostilePayload(anyJson, {}), { nil: undefined }),
          mustBody: route.badBody ?? fc.constant<Payload>({ label: "none" }),
          pick: fc.nat(),
        })
      type Case = ReturnType<typeof hostileCase> extends fc.Arbitrary<infer T> ? T : never

      /** Builds the request: whatever was drawn, and if that could be a valid call, one part bad. */
      function request(k: Case) {
        const c = creds[k.cred]
        const reaches = grants(route, k.cred)
        let csrf = k.csrf
        // Nothing else to make invalid: the CSRF check must fail.
        if (reaches && !canBeInvalid) csrf = undefined
        const csrfOk =
          !changing ||
          (!c.cookie && Boolean(c.token)) ||
          ((k.origin === undefined || k.origin === new URL(stackInfo().publicUrl).origin) &&
            csrf === "1")
        const mustFail = reaches && csrfOk
        const must = mustFail ? checks[k.pick % Math.max(1, checks.length)] : undefined
        let i = 0
        const path = template.replace(/:[a-z]+/g, () =>
          mustFail || k.anyParams ? k.badParams[i++]! : randomUUID(),
        )
        const query = must === "query" ? k.mustQuery : mustFail ? "" : (k.query ?? "")
        const payload: Payload =
          must === "body"
            ? k.mustBody
            : mustFail
              ? { label: "none" }
              : (k.body ?? { label: "none" })
        const headers: Record<string, string> = {}
        if (c.cookie) headers.cookie = c.cookie
        if (c.token) headers["x-session-token"] = c.token
        if (k.origin) headers.origin = k.origin
        if (csrf) headers["x-kratos-guard-csrf"] = csrf
        if (payload.contentType) headers["content-type"] = payload.contentType
        if (payload.contentEncoding) headers["content-encoding"] = payload.contentEncoding
        return { method, path: query ? `${path}?${query}` : path, headers, body: payload.body }
      }

      const property = async (credList: Cred[], runs: number) => {
        const before = await dbSnapshot(scratch.url)
        const seen = new Map<number, number>()
        const run = async (k: Case) => {
          const req = request(k)
          const res = await server.send(req)
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
          const what = `${req.method} ${req.path.slice(0, 300)} as ${k.cred}`
          if (res.status < 400 || res.status >= 500) {
            throw new Error(`${what} answered ${res.status}: ${res.body.slice(0, 300)}`)
          }
          // Node itself refuses a request line or headers over its limit before any route runs.
          if (res.status === 431 || res.status === 414) return
          let body: unknown
          try {
            body = JSON.parse(res.body)
          } catch {
            throw new Error(
              `${what} answered ${res.status} ${JSON.stringify(res.headers)} without JSON: ${res.body.slice(0, 200)} (sent ${String(req.headers["content-type"])}, ${req.body?.length ?? 0} bytes)`,
            )
          }
          // Plain checks per case: a jest matcher captures a stack trace on every call.
          const code = (body as { error?: { code?: unknown } } | null)?.error?.code
          if (typeof code !== "string") {
            throw new Error(
              `${what} answered ${res.status} without an error code: ${res.body.slice(0, 200)}`,
            )
          }
          // No session, a well-formed path and nothing for the body parser (which runs first): 401.
          if (
            !VALID_SESSION.includes(k.cred) &&
            req.body === undefined &&
            !changing &&
            // A path with two readings (`%`, dot segments) is refused first, with 400.
            cleanPath(req.path) !== null
          ) {
            if (res.status !== 401) throw new Error(`${what} answered ${res.status}, not 401`)
          }
        }
        // Cases go in batches of BATCH at once (most wait on Kratos's whoami); the error names
        // the failing case of a batch.
        await fc.assert(
          fc.asyncProperty(
            fc.array(hostileCase(credList), { minLength: BATCH, maxLength: BATCH }),
            async (ks) => {
              await Promise.all(ks.map(run))
            },
          ),
          { numRuns: Math.ceil(runs / BATCH) },
        )
        const total = [...seen.values()].reduce((a, b) => a + b, 0)
        expect(total).toBeGreaterThanOrEqual(runs)
        expect(await dbSnapshot(scratch.url)).toEqual(before)
        return seen
      }

      it(
        `when ${name} gets hostile input without credentials, then it answers 4xx and writes nothing`,
        async () => {
          const seen = await property(["none"], RUNS_PER_ROUTE)
          expect(seen.size).toBeGreaterThan(1)
        },
        PROPERTY_TIMEOUT_MS,
      )

      it(
        `when ${name} gets hostile input with forged, revoked or real sessions, then it answers 4xx and writes nothing`,
        async () => {
          await property(
            usable.filter((c) => c !== "none"),
            SESSION_RUNS,
          )
        },
        PROPERTY_TIMEOUT_MS,
      )
    }
  })
}

function allCreds(): Cred[] {
  return [
    "none",
    "forgedCookie",
    "garbageCookie",
    "tamperedCookie",
    "revokedCookie",
    "forgedToken",
    "revokedToken",
    "memberToken",
    "memberCookie",
    "adminAal1Token",
    "adminToken",
  ]
}

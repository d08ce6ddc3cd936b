import { randomInt, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import path from "node:path"
import request from "supertest"
import { openDatabase } from "../../db/client"
import { updateOrgPolicy } from "../../webhooks/domain/org-policy"
import { SSO_PASSWORD_TEXT } from "../../webhooks/proxy/refusals"
import { latestIntent, recordIntent } from "../../webhooks/domain/settings-intents"
import { inProcessApp } from "../harness/app"
import { startBrowserFlow } from "../harness/browser-session"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import {
  credentialTypes,
  enrolRecoveryCodes,
  enrolTotp,
  loginPassword,
  totpCode,
} from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { scratchDatabase } from "../harness/databases"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const NEW_PASSWORD = "Quiet-Meadow-Compass-77?"

interface UiNode {
  type: string
  attributes: { name?: string; value?: unknown }
  messages: { id: number; text: string; type: string; context: unknown }[]
}
interface Flow {
  id: string
  type: string
  state?: string
  ui: { nodes: UiNode[]; messages?: { id: number; text: string; type: string }[] }
}

const publicApi = () => request(stackInfo().publicUrl)

const passwordNode = (flow: Flow) => flow.ui.nodes.find((n) => n.attributes.name === "password")

async function nativeSettingsFlow(token: string): Promise<string> {
  const { data } = await kratosClients().frontend.createNativeSettingsFlow({ xSessionToken: token })
  return data.id
}

async function passwordUpdatedAt(identityId: string): Promise<string | undefined> {
  const { data } = await kratosClients().identities.getIdentity({ id: identityId })
  return data.credentials?.password?.updated_at
}

async function canLogIn(email: string, password: string): Promise<boolean> {
  return loginPassword(email, password).then(
    () => true,
    () => false,
  )
}

// Distinct client addresses (198.18.0.0/15, reserved for tests; only sent as a header), so one
// test's blocked IP is never another's.
let nextIp = randomInt(0, 60_000)
const testIp = () => {
  const n = nextIp++
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`
}

describe("password policy, enforced by the proxy before Kratos", () => {
  it("when a native settings flow submits a weak password, then it gets a 400 flow with one message per failing rule under the password field, and Kratos keeps the old password", async () => {
    const user = await registerNative()
    const before = await passwordUpdatedAt(user.identityId)
    const flowId = await nativeSettingsFlow(user.sessionToken)

    const res = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .set("Accept", "application/json")
      .send({ method: "password", password: "alllowercaseletters" })

    expect(res.status).toBe(400)
    const flow = res.body as Flow
    expect(flow.id).toBe(flowId)
    expect(flow.type).toBe("api")
    expect(passwordNode(flow)?.messages).toEqual([
      { id: 4100002, text: "At least one uppercase letter", type: "error", context: {} },
      { id: 4100003, text: "At least one number", type: "error", context: {} },
      { id: 4100004, text: "At least one symbol (e.g. ! ? # %)", type: "error", context: {} },
    ])
    expect(await passwordUpdatedAt(user.identityId)).toBe(before)
    expect(await canLogIn(user.email, user.password)).toBe(true)
  })

  it("when the new password meets every rule, then Kratos saves it", async () => {
    const user = await registerNative()
    const flowId = await nativeSettingsFlow(user.sessionToken)

    const res = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .send({ method: "password", password: NEW_PASSWORD })

    expect(res.status).toBe(200)
    expect(res.body.state).toBe("success")
    expect(await canLogIn(user.email, NEW_PASSWORD)).toBe(true)
  })

  it("when a native registration uses a weak password, then it gets a 400 flow with the rule messages, keeps the email typed, and nobody is created", async () => {
    const email = uniqueEmail("weak")
    const { data: flow } = await kratosClients().frontend.createNativeRegistrationFlow()

    const res = await publicApi()
      .post(`/self-service/registration?flow=${flow.id}`)
      .send({ method: "password", password: "Short1!", traits: { email } })

    expect(res.status).toBe(400)
    const body = res.body as Flow
    expect(passwordNode(body)?.messages.map((m) => m.id)).toEqual([4100001])
    const emailNode = body.ui.nodes.find((n) => n.attributes.name === "traits.email")
    expect(emailNode?.attributes.value).toBe(email)
    const { data } = await kratosClients().identities.listIdentities({
      credentialsIdentifier: email,
    })
    expect(data).toHaveLength(0)
  })

  it("when a browser form posts a weak password to its settings flow, then it is sent back to the settings page with password_policy=failed", async () => {
    const s = stackInfo()
    const browser = request.agent(s.publicUrl)
    const email = uniqueEmail("browser")
    const reg = await startBrowserFlow(browser, "registration")
    const signUp = await browser
      .post(`/self-service/registration?flow=${reg.id}`)
      .type("form")
      .send({
        csrf_token: reg.csrf,
        method: "password",
        password: STRONG_PASSWORD,
        "traits.email": email,
      })
    expect(signUp.status).toBe(303)
    const { data: ids } = await kratosClients().identities.listIdentities({
      credentialsIdentifier: email,
    })
    const before = await passwordUpdatedAt(ids[0]!.id)

    const settings = await startBrowserFlow(browser, "settings")
    const res = await browser
      .post(`/self-service/settings?flow=${settings.id}`)
      .type("form")
      .send({ csrf_token: settings.csrf, method: "password", password: "password" })

    expect(res.status).toBe(303)
    expect(res.headers.location).toBe(
      `${s.publicUrl}/settings?flow=${settings.id}&password_policy=failed`,
    )
    expect(await passwordUpdatedAt(ids[0]!.id)).toBe(before)
  })

  it("when a browser form posts a weak password to registration, then it is sent back to the registration page and nobody is created", async () => {
    const s = stackInfo()
    const browser = request.agent(s.publicUrl)
    const email = uniqueEmail("browser-weak")
    const reg = await startBrowserFlow(browser, "registration")

    const res = await browser
      .post(`/self-service/registration?flow=${reg.id}`)
      .type("form")
      .send({ csrf_token: reg.csrf, method: "password", password: "weak", "traits.email": email })

    expect(res.status).toBe(303)
    expect(res.headers.location).toBe(
      `${s.publicUrl}/registration?flow=${reg.id}&password_policy=failed`,
    )
    const { data } = await kratosClients().identities.listIdentities({
      credentialsIdentifier: email,
    })
    expect(data).toHaveLength(0)
  })

  it("when a direct form post repeats the password field, then it is refused as ambiguous and Kratos keeps the old password", async () => {
    const user = await registerNative()
    const before = await passwordUpdatedAt(user.identityId)
    const flowId = await nativeSettingsFlow(user.sessionToken)

    const res = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .type("form")
      .send(`method=password&password=weak&password=${encodeURIComponent(NEW_PASSWORD)}`)

    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/"password" appears more than once/)
    expect(await passwordUpdatedAt(user.identityId)).toBe(before)
    expect(await canLogIn(user.email, user.password)).toBe(true)
  })

  it("when a password change is sent as a GET with the password in the query (Kratos decodes that too), then only the flow id reaches Kratos and no password changes", async () => {
    const user = await registerNative()
    const before = await passwordUpdatedAt(user.identityId)

    let lastFlowId = ""
    for (const password of ["weakpassword", NEW_PASSWORD]) {
      const flowId = await nativeSettingsFlow(user.sessionToken)
      lastFlowId = flowId
      const res = await publicApi()
        .get("/self-service/settings")
        .query({ flow: flowId, method: "password", password })
        .set("X-Session-Token", user.sessionToken)
      expect(res.status).toBeLessThan(500)
    }
    expect(await passwordUpdatedAt(user.identityId)).toBe(before)
    expect(await canLogIn(user.email, NEW_PASSWORD)).toBe(false)
    expect(await canLogIn(user.email, user.password)).toBe(true)

    // The request log keeps the URL but not the passwords in it.
    const log = await eventually(async () => {
      const text = readFileSync(path.join(stackInfo().dataDir, "service.log"), "utf8")
      expect(text).toContain(`/self-service/settings?flow=${lastFlowId}`)
      return text
    })
    expect(log).not.toContain("weakpassword")
    expect(log).not.toContain(encodeURIComponent(NEW_PASSWORD))
  })

  it("when the path is percent-encoded, then it is refused before Kratos (a path has one spelling)", async () => {
    const user = await registerNative()
    const before = await passwordUpdatedAt(user.identityId)
    const flowId = await nativeSettingsFlow(user.sessionToken)

    const res = await publicApi()
      .post(`/self-service/%73ettings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .send({ method: "password", password: "nouppercase-1!" })

    expect(res.status).toBe(400)
    expect(await passwordUpdatedAt(user.identityId)).toBe(before)
  })

  it("when a submission is multipart or larger than 64 kB, then it is refused before Kratos", async () => {
    const user = await registerNative()
    const flowId = await nativeSettingsFlow(user.sessionToken)

    const multipart = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .field("method", "password")
      .field("password", "weak")
    expect(multipart.status).toBe(415)

    const huge = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .send({ method: "password", password: NEW_PASSWORD, padding: "x".repeat(70_000) })
    expect(huge.status).toBe(413)
  })

  it("when the organisation requires single sign-on, then a password change is refused with its own message", async () => {
    // Its own database: the policy must not reach the shared stack's other tests.
    const { database, drop } = await scratchDatabase()
    await updateOrgPolicy(database.db, { ssoRequired: true }, "test")
    const { app, close } = inProcessApp({ database })
    try {
      const user = await registerNative()
      const before = await passwordUpdatedAt(user.identityId)
      const flowId = await nativeSettingsFlow(user.sessionToken)

      const res = await request(app)
        .post(`/self-service/settings?flow=${flowId}`)
        .set("X-Session-Token", user.sessionToken)
        .send({ method: "password", password: NEW_PASSWORD })

      expect(res.status).toBe(400)
      expect(passwordNode(res.body)?.messages).toEqual([
        {
          id: 4100010,
          text: SSO_PASSWORD_TEXT,
          type: "error",
          context: {},
        },
      ])
      expect(await passwordUpdatedAt(user.identityId)).toBe(before)
    } finally {
      await close()
      await drop()
    }
  })
})

describe("settings intents, recorded by the proxy before forwarding", () => {
  it("when a settings submission removes a WebAuthn key, then the intent is recorded for that flow with the key id", async () => {
    const user = await registerNative()
    const flowId = await nativeSettingsFlow(user.sessionToken)

    await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .send({ method: "webauthn", webauthn_remove: "a1b2c3d4" })

    const rows = await serviceDb()<{ kind: string; detail: string | null }[]>`
      select kind, detail from settings_intents where flow_id = ${flowId} order by id`
    expect(rows).toEqual([{ kind: "webauthn_remove", detail: "a1b2c3d4" }])
  })

  it("when intents are read back, then the newest matching one within the window is returned", async () => {
    const database = openDatabase({ databaseUrl: stackInfo().serviceDatabaseUrl ?? undefined })
    try {
      const flowId = randomUUID()
      await recordIntent(database.db, { flowId, kind: "lookup_secret_disable" })
      await recordIntent(database.db, { flowId, kind: "webauthn_remove", detail: "01" })
      await recordIntent(database.db, { flowId, kind: "webauthn_remove", detail: "02" })

      const newest = await latestIntent(database.db, flowId, ["webauthn_remove"], 60_000)
      expect(newest).toMatchObject({ flowId, kind: "webauthn_remove", detail: "02" })
      expect(await latestIntent(database.db, flowId, ["passkey_remove"], 60_000)).toBeNull()
      // An empty window ends at the database's now(): nothing recorded before this read is in it.
      expect(await latestIntent(database.db, flowId, ["lookup_secret_disable"], 0)).toBeNull()
    } finally {
      await database.close()
    }
  })

  it("when the intent can't be recorded, then the submission is refused with 503 and Kratos never sees it", async () => {
    const user = await registerNative()
    await enrolRecoveryCodes(user.sessionToken)
    // A database that is not there: every write fails.
    const { app, close } = inProcessApp({
      database: openDatabase({ databaseUrl: "postgres://postgres@127.0.0.1:1/gone", poolMax: 1 }),
    })
    try {
      const flowId = await nativeSettingsFlow(user.sessionToken)
      const res = await request(app)
        .post(`/self-service/settings?flow=${flowId}`)
        .set("X-Session-Token", user.sessionToken)
        .send({ method: "lookup_secret", lookup_secret_disable: true })

      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe("UNAVAILABLE")
      expect(await credentialTypes(user.identityId)).toContain("lookup_secret")
    } finally {
      await close()
    }
    // The same submission through the running service (its database is up) disables them.
    const flowId = await nativeSettingsFlow(user.sessionToken)
    const res = await publicApi()
      .post(`/self-service/settings?flow=${flowId}`)
      .set("X-Session-Token", user.sessionToken)
      .send({ method: "lookup_secret", lookup_secret_disable: true })
    expect(res.status).toBe(200)
    expect(await credentialTypes(user.identityId)).not.toContain("lookup_secret")
  })
})

describe("brute-force limits on login", () => {
  function throttledApp(env: Record<string, string>) {
    return inProcessApp({
      env: {
        TRUST_PROXY_HOPS: "1",
        LOGIN_MAX_FAILURES_PER_IDENTIFIER: "3",
        LOGIN_MAX_FAILURES_PER_IP: "1000",
        LOGIN_BLOCK_BASE_SECONDS: "60",
        ...env,
      },
    })
  }

  async function nativeLogin(
    app: Parameters<typeof request>[0],
    ip: string,
    body: Record<string, unknown>,
    token?: string,
  ) {
    const { data: flow } = await kratosClients().frontend.createNativeLoginFlow(
      token ? { aal: "aal2", xSessionToken: token } : {},
    )
    const req = request(app).post(`/self-service/login?flow=${flow.id}`).set("X-Forwarded-For", ip)
    if (token) req.set("X-Session-Token", token)
    return req.send(body)
  }

  const password = (identifier: string, pw: string) => ({
    method: "password",
    identifier,
    password: pw,
  })

  it("when an account gets too many wrong passwords, then login is refused with a message and Retry-After, even with the right password", async () => {
    const user = await registerNative()
    const { app, close } = throttledApp({})
    const ip = testIp()
    try {
      for (let i = 0; i < 3; i++) {
        const wrong = await nativeLogin(app, ip, password(user.email, "Wrong-Password-1!"))
        expect(wrong.status).toBe(400)
        expect(wrong.body.ui.messages.map((m: { id: number }) => m.id)).toEqual([4000006])
      }

      const right = await nativeLogin(app, ip, password(user.email.toUpperCase(), user.password))
      expect(right.status).toBe(400)
      expect(right.body.session_token).toBeUndefined()
      expect(right.body.ui.messages).toEqual([
        {
          id: 4100020,
          text: "Too many failed attempts. Try again in 1 minute.",
          type: "error",
          context: { retry_after_seconds: Number(right.headers["retry-after"]) },
        },
      ])
      expect(Number(right.headers["retry-after"])).toBeGreaterThan(50)
      expect(Number(right.headers["retry-after"])).toBeLessThanOrEqual(60)
      const identifierNode = (right.body as Flow).ui.nodes.find(
        (n) => n.attributes.name === "identifier",
      )
      expect(identifierNode?.attributes.value).toBe(user.email.toUpperCase())
    } finally {
      await close()
    }
  })

  it("when a login succeeds, then the count of failures starts again", async () => {
    const user = await registerNative()
    const { app, close } = throttledApp({})
    const ip = testIp()
    try {
      for (const round of [1, 2]) {
        for (let i = 0; i < 2; i++) {
          const wrong = await nativeLogin(app, ip, password(user.email, "Wrong-Password-1!"))
          expect(wrong.status).toBe(400)
        }
        const right = await nativeLogin(app, ip, password(user.email, user.password))
        expect({ round, status: right.status }).toEqual({ round, status: 200 })
        expect(right.body.session_token).toEqual(expect.any(String))
      }
    } finally {
      await close()
    }
  })

  it("when an account is blocked again after its block ends, then the next block lasts twice as long", async () => {
    const user = await registerNative()
    const { app, close } = throttledApp({ LOGIN_BLOCK_BASE_SECONDS: "2" })
    const ip = testIp()
    try {
      const retryAfterBlock = async () => {
        for (let i = 0; i < 3; i++) {
          expect((await nativeLogin(app, ip, password(user.email, "Wrong-1!"))).status).toBe(400)
        }
        const blocked = await nativeLogin(app, ip, password(user.email, user.password))
        expect(blocked.body.ui.messages[0].id).toBe(4100020)
        return Number(blocked.headers["retry-after"])
      }

      expect(await retryAfterBlock()).toBe(2)
      // Polled, not outwaited: the first wrong password Kratos sees again (4000006, not the
      // block's 4100020) is the first failure of the next series.
      await eventually(async () => {
        const res = await nativeLogin(app, ip, password(user.email, "Wrong-1!"))
        expect(res.body.ui.messages[0].id).toBe(4000006)
      })
      for (let i = 0; i < 2; i++) {
        expect((await nativeLogin(app, ip, password(user.email, "Wrong-1!"))).status).toBe(400)
      }
      const again = await nativeLogin(app, ip, password(user.email, user.password))
      expect(again.body.ui.messages[0].id).toBe(4100020)
      expect(Number(again.headers["retry-after"])).toBe(4)
    } finally {
      await close()
    }
  })

  it("when one IP fails on many accounts, then its further attempts are refused whatever the account", async () => {
    const { app, close } = throttledApp({ LOGIN_MAX_FAILURES_PER_IP: "2" })
    const ip = testIp()
    try {
      for (let i = 0; i < 2; i++) {
        const res = await nativeLogin(app, ip, password(uniqueEmail("nobody"), "Wrong-Password-1!"))
        expect(res.status).toBe(400)
        expect(res.body.ui.messages[0].id).toBe(4000006)
      }
      const third = await nativeLogin(app, ip, password(uniqueEmail("nobody"), "Wrong-1!"))
      expect(third.status).toBe(400)
      expect(third.body.ui.messages[0].id).toBe(4100020)
      expect(Number(third.headers["retry-after"])).toBeGreaterThan(0)

      const elsewhere = await nativeLogin(app, testIp(), password(uniqueEmail("x"), "Wrong-1!"))
      expect(elsewhere.body.ui.messages[0].id).toBe(4000006)
    } finally {
      await close()
    }
  })

  it("when a browser form post is blocked, then it is sent back to the login page with the wait in seconds", async () => {
    const user = await registerNative()
    const { app, close } = throttledApp({ LOGIN_MAX_FAILURES_PER_IDENTIFIER: "1" })
    const ip = testIp()
    try {
      const browser = request.agent(app)
      const flow = await startBrowserFlow(browser, "login", { "X-Forwarded-For": ip })
      const post = (pw: string) =>
        browser
          .post(`/self-service/login?flow=${flow.id}`)
          .set("X-Forwarded-For", ip)
          .type("form")
          .send({
            csrf_token: flow.csrf,
            method: "password",
            identifier: user.email,
            password: pw,
          })

      const wrong = await post("Wrong-Password-1!")
      expect(wrong.status).toBe(303)
      expect(wrong.headers.location).toBe(`${stackInfo().publicUrl}/login?flow=${flow.id}`)

      const blocked = await post(user.password)
      expect(blocked.status).toBe(303)
      const location = new URL(String(blocked.headers.location))
      expect(location.pathname).toBe("/login")
      expect(location.searchParams.get("flow")).toBe(flow.id)
      expect(Number(location.searchParams.get("throttled"))).toBeGreaterThan(50)
      expect(blocked.headers["retry-after"]).toBe(location.searchParams.get("throttled"))
    } finally {
      await close()
    }
  })

  it("when second-factor codes are guessed, then the identity is blocked, even for the right code", async () => {
    const user = await registerNative()
    const { secret } = await enrolTotp(user.sessionToken)
    const aal1 = await loginPassword(user.email)
    const { app, close } = throttledApp({})
    try {
      for (let i = 0; i < 3; i++) {
        const wrongCode = totpCode(secret) === "000000" ? "111111" : "000000"
        // A new IP each time: the count is per identity, taken from the session.
        const res = await nativeLogin(app, testIp(), { method: "totp", totp_code: wrongCode }, aal1)
        expect(res.status).toBe(400)
        expect(res.body.ui.messages[0].id).not.toBe(4100020)
      }
      const right = await nativeLogin(
        app,
        testIp(),
        { method: "totp", totp_code: totpCode(secret) },
        aal1,
      )
      expect(right.status).toBe(400)
      expect(right.body.ui.messages[0].id).toBe(4100020)
      const { data: session } = await kratosClients().frontend.toSession({ xSessionToken: aal1 })
      expect(session.authenticator_assurance_level).toBe("aal1")
    } finally {
      await close()
    }
  })
})

import { pbkdf2Sync, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import path from "node:path"
import postgres from "postgres"
import request from "supertest"
import { inProcessApp } from "../harness/app"
import { scratchDatabase } from "../harness/databases"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { loginPassword, nodeMessages, staff, submitSettings } from "../harness/flows"
import { kratosClients, registerNative, STRONG_PASSWORD, uniqueEmail } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"
import { changePasswordVia, type StackUrls } from "../harness/stack-flows"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const REUSED = 4100011
const P1 = "Quiet-Meadow-Compass-77?"
const P2 = "Fresh-Lighthouse-Quartz-81!"

const api = () => request(stackInfo().publicUrl)

/** Kratos's stored password hash, read through the admin API. */
async function storedHash(identityId: string, urls?: StackUrls): Promise<string> {
  const { data } = await kratosClients(urls).identities.getIdentity({
    id: identityId,
    includeCredential: ["password"],
  })
  const hash = (data.credentials?.password?.config as { hashed_password?: string } | undefined)
    ?.hashed_password
  if (!hash) throw new Error("the identity has no password hash")
  return hash
}

async function canLogIn(email: string, password: string): Promise<boolean> {
  return loginPassword(email, password).then(
    () => true,
    () => false,
  )
}

async function flagOf(identityId: string) {
  const { data } = await kratosClients().identities.getIdentity({ id: identityId })
  return (data.metadata_public as { force_password_change?: { required: boolean } })
    .force_password_change
}

/** A password change through the shared stack's proxy (native flow, JSON). */
async function changePassword(token: string, password: string) {
  const res = await submitSettings(token, { method: "password", password })
  return { status: res.status, passwordMessages: nodeMessages(res.flow, "password") }
}

describe("password reuse, refused by the proxy", () => {
  it("when a user under a forced change submits the password they already have, then it is refused, Kratos keeps its hash and the ack stays 409; a new password then passes and the ack clears", async () => {
    const admin = await staff("admin")
    const member = await registerNative()
    const forced = await api()
      .post(`/api/admin/users/${member.identityId}/force-password-change`)
      .set("X-Session-Token", admin.token)
    expect(forced.status).toBe(200)
    const hashBefore = await storedHash(member.identityId)

    const same = await changePassword(member.sessionToken, member.password)
    expect(same).toEqual({ status: 400, passwordMessages: [REUSED] })
    expect(await storedHash(member.identityId)).toBe(hashBefore)

    const early = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(early.status).toBe(409)
    expect((await flagOf(member.identityId))?.required).toBe(true)
    expect(await canLogIn(member.email, member.password)).toBe(true)

    const fresh = await changePassword(member.sessionToken, P1)
    expect(fresh.status).toBe(200)
    expect(await storedHash(member.identityId)).not.toBe(hashBefore)
    const ack = await api()
      .post("/api/auth/ack-password-change")
      .set("X-Session-Token", member.sessionToken)
    expect(ack.status).toBe(200)
    expect(ack.body.status).toBe("cleared")
    expect((await flagOf(member.identityId))?.required).toBe(false)
    expect(await canLogIn(member.email, P1)).toBe(true)
    expect(await canLogIn(member.email, member.password)).toBe(false)
  })

  it("when a user changes their password and then tries to go back to the previous one (set at registration), then it is refused and the new one stays", async () => {
    const user = await registerNative()
    expect((await changePassword(user.sessionToken, P1)).status).toBe(200)
    const hashAfterChange = await storedHash(user.identityId)

    const back = await changePassword(user.sessionToken, user.password)
    expect(back).toEqual({ status: 400, passwordMessages: [REUSED] })
    expect(await storedHash(user.identityId)).toBe(hashAfterChange)
    expect(await canLogIn(user.email, P1)).toBe(true)
    expect(await canLogIn(user.email, user.password)).toBe(false)

    // What the service kept are Kratos's hashes, never a password.
    const kept = await eventually(async () => {
      const rows = await serviceDb()<{ hash: string }[]>`
        select hash from password_history where identity_id = ${user.identityId} order by id`
      expect(rows.map((r) => r.hash)).toContain(hashAfterChange)
      return rows.map((r) => r.hash)
    })
    expect(kept).toHaveLength(2)
    for (const h of kept) expect(h).toMatch(/^\$2a\$04\$/)
    const log = readFileSync(path.join(stackInfo().dataDir, "service.log"), "utf8")
    for (const h of kept) expect(log).not.toContain(h)
  })

  it("when a browser form posts the current password, then it is sent back to the settings page with password_policy=reused and Kratos keeps its hash", async () => {
    const s = stackInfo()
    const browser = request.agent(s.publicUrl)
    const email = uniqueEmail("browser-reuse")
    type Flow = { id: string; ui: { nodes: { attributes: { name?: string; value?: unknown } }[] } }
    const csrfOf = (f: Flow) =>
      f.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes.value as string
    const reg = await browser
      .get("/self-service/registration/browser")
      .set("Accept", "application/json")
    const signUp = await browser
      .post(`/self-service/registration?flow=${reg.body.id}`)
      .type("form")
      .send({
        csrf_token: csrfOf(reg.body as Flow),
        method: "password",
        password: STRONG_PASSWORD,
        "traits.email": email,
      })
    expect(signUp.status).toBe(303)
    const { data: ids } = await kratosClients().identities.listIdentities({
      credentialsIdentifier: email,
    })
    const hashBefore = await storedHash(ids[0]!.id)

    const settings = await browser
      .get("/self-service/settings/browser")
      .set("Accept", "application/json")
    const res = await browser
      .post(`/self-service/settings?flow=${settings.body.id}`)
      .type("form")
      .send({
        csrf_token: csrfOf(settings.body as Flow),
        method: "password",
        password: STRONG_PASSWORD,
      })

    expect(res.status).toBe(303)
    expect(res.headers.location).toBe(
      `${s.publicUrl}/settings?flow=${settings.body.id}&password_policy=reused`,
    )
    expect(await storedHash(ids[0]!.id)).toBe(hashBefore)
  })

  it("when the session is sent as Authorization: Bearer (Kratos reads that too), then the same password is still refused", async () => {
    const user = await registerNative()
    const hashBefore = await storedHash(user.identityId)
    const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
      xSessionToken: user.sessionToken,
    })

    const same = await api()
      .post(`/self-service/settings?flow=${flow.id}`)
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .send({ method: "password", password: user.password })
    expect(same.status).toBe(400)
    expect(nodeMessages(same.body, "password")).toEqual([REUSED])
    expect(await storedHash(user.identityId)).toBe(hashBefore)

    // Kratos does act on that header: a new password sent the same way is stored.
    const fresh = await api()
      .post(`/self-service/settings?flow=${flow.id}`)
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .send({ method: "password", password: P1 })
    expect(fresh.status).toBe(200)
    expect(await canLogIn(user.email, P1)).toBe(true)
  })

  it("when an imported identity's hash is not bcrypt, then its first password sign-in has Kratos rehash it with bcrypt and from then on the same password is refused", async () => {
    const email = uniqueEmail("imported")
    const salt = randomBytes(16)
    const digest = pbkdf2Sync(STRONG_PASSWORD, salt, 1000, 32, "sha256")
    const b64 = (b: Buffer) => b.toString("base64").replace(/=+$/, "")
    const { data: identity } = await kratosClients().identities.createIdentity({
      createIdentityBody: {
        schema_id: "person",
        traits: { email },
        credentials: {
          password: {
            config: { hashed_password: `$pbkdf2-sha256$i=1000,l=32$${b64(salt)}$${b64(digest)}` },
          },
        },
      },
    })

    const token = await loginPassword(email, STRONG_PASSWORD)
    const rehashed = await storedHash(identity.id)
    expect(rehashed).toMatch(/^\$2a\$/)

    expect(await changePassword(token, STRONG_PASSWORD)).toEqual({
      status: 400,
      passwordMessages: [REUSED],
    })
    expect(await storedHash(identity.id)).toBe(rehashed)
  })
})

describe("password reuse check fails closed", () => {
  it("when Kratos admin can't be reached, then a password change is refused with 503 and Kratos keeps the old password", async () => {
    const user = await registerNative()
    const hashBefore = await storedHash(user.identityId)
    const { app, close } = inProcessApp({ kratosAdminUrl: "http://127.0.0.1:1" })
    try {
      const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
        xSessionToken: user.sessionToken,
      })
      const res = await request(app)
        .post(`/self-service/settings?flow=${flow.id}`)
        .set("X-Session-Token", user.sessionToken)
        .send({ method: "password", password: P1 })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe("UNAVAILABLE")
    } finally {
      await close()
    }
    expect(await storedHash(user.identityId)).toBe(hashBefore)
    expect(await canLogIn(user.email, user.password)).toBe(true)
  })

  it("when the history can't be read from the database, then a password change is refused with 503 and Kratos keeps the old password", async () => {
    const user = await registerNative()
    const hashBefore = await storedHash(user.identityId)
    const scratch = await scratchDatabase()
    await scratch.database.query("drop table password_history")
    const { app, close } = inProcessApp({ database: scratch.database })
    try {
      const { data: flow } = await kratosClients().frontend.createNativeSettingsFlow({
        xSessionToken: user.sessionToken,
      })
      const res = await request(app)
        .post(`/self-service/settings?flow=${flow.id}`)
        .set("X-Session-Token", user.sessionToken)
        .send({ method: "password", password: P1 })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe("UNAVAILABLE")
    } finally {
      await close()
      await scratch.drop()
    }
    expect(await storedHash(user.identityId)).toBe(hashBefore)
  })
})

describe("password history length (PASSWORD_HISTORY=2)", () => {
  it("when a user has changed their password twice, then the registration password has dropped out of the history and is allowed again, while the last two are refused", async () => {
    const p = await startPrivateStack({
      env: { PASSWORD_HISTORY: "2", PASSWORD_CHANGES_PER_HOUR: "20" },
    })
    const sql = postgres(p.serviceDatabaseUrl, { max: 1, onnotice: () => {} })
    try {
      const user = await registerNative(undefined, undefined, p.urls)
      const change = (password: string) => changePasswordVia(p.urls, user.sessionToken, password)
      const login = (password: string) =>
        kratosClients(p.urls)
          .frontend.createNativeLoginFlow()
          .then(({ data }) =>
            kratosClients(p.urls).frontend.updateLoginFlow({
              flow: data.id,
              updateLoginFlowBody: { method: "password", identifier: user.email, password },
            }),
          )
          .then(
            () => true,
            () => false,
          )

      expect((await change(P1)).status).toBe(200)
      // One change: the registration password is still one of the last two.
      expect(await change(user.password)).toMatchObject({ status: 400 })
      expect((await change(P2)).status).toBe(200)
      const current = await storedHash(user.identityId, p.urls)
      // Two changes: P1 and P2 are the last two; the current one is refused too.
      expect(await change(P1)).toMatchObject({ status: 400 })
      expect(await change(P2)).toMatchObject({ status: 400 })
      expect(await storedHash(user.identityId, p.urls)).toBe(current)
      expect(await login(P2)).toBe(true)

      // The kept hashes: Kratos's last two, the registration one trimmed away.
      const kept = await eventually(async () => {
        const rows = await sql<{ hash: string }[]>`
          select hash from password_history where identity_id = ${user.identityId} order by id`
        expect(rows).toHaveLength(2)
        expect(rows[1]!.hash).toBe(current)
        return rows
      })
      expect(kept.every((r) => /^\$2a\$/.test(r.hash))).toBe(true)

      expect((await change(user.password)).status).toBe(200)
      expect(await login(user.password)).toBe(true)
      expect(await login(P2)).toBe(false)
      // The window moves on: P2 is still one of the last two, P1 no longer.
      expect(await change(P2)).toMatchObject({ status: 400 })
      expect((await change(P1)).status).toBe(200)
      expect(await login(P1)).toBe(true)
    } finally {
      await sql.end()
      await p.stop()
    }
  })
})

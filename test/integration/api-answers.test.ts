import { randomUUID } from "node:crypto"
import request from "supertest"
import type { z } from "zod"
import * as answers from "../../webhooks/routes/answers"
import { inProcessApp } from "../harness/app"
import { enrolRecoveryCodes, enrolTotp, loginPassword, staff } from "../harness/flows"
import { appRoutes } from "../harness/hostile"
import { closeServiceDb, serviceDb } from "../harness/db"
import { kratosClients, registerNative, uniqueEmail } from "../harness/kratos"
import { changePasswordVia } from "../harness/stack-flows"
import { stackInfo } from "../harness/stack-info"

/**
 * Every `/api` route's real answers, from the running service against real Kratos, checked
 * against its schema in webhooks/routes/answers.ts (the types the UI is built on). A route
 * added without an entry here fails the first test.
 */

const api = () => request(stackInfo().publicUrl)

afterAll(closeServiceDb)

type Call = () => Promise<{ status: number; body: unknown }>
interface Case {
  status: number
  schema: z.ZodType
  call: Call
}

let admin: Awaited<ReturnType<typeof staff>>
let boss: Awaited<ReturnType<typeof staff>>
let member: Awaited<ReturnType<typeof registerNative>>

beforeAll(async () => {
  ;[admin, boss, member] = await Promise.all([
    staff("admin"),
    staff("super_admin"),
    registerNative(),
  ])
  await enrolTotp(member.sessionToken)
  await enrolRecoveryCodes(member.sessionToken)
})

const as = (token: string) => ({ "X-Session-Token": token })

/** Someone who lost their phone (TOTP, verified address, an AAL1 session) and the code mailed. */
async function lostDevice() {
  const user = await registerNative()
  await enrolTotp(user.sessionToken)
  await kratosClients().identities.patchIdentity({
    id: user.identityId,
    jsonPatch: [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }],
  })
  const token = await loginPassword(user.email)
  return { ...user, token }
}
async function openRecoveryRequest() {
  const person = await lostDevice()
  await api().post("/api/me/recovery-request/code").set(as(person.token)).expect(202)
  const [mail] = await serviceDb()<{ body_text: string }[]>`
    select body_text from notification_outbox
    where recipient = ${person.email} and kind = 'user.recovery_request_code'`
  const code = /Your code is (\d{6})/.exec(mail!.body_text)![1]
  const made = await api()
    .post("/api/me/recovery-request")
    .set(as(person.token))
    .send({ code, reason: "Phone lost on the train this morning." })
  return { person, made, id: (made.body as answers.OwnRecoveryAnswer).request!.id }
}
/** A subscriber (switched off: nothing is sent to the address, which is public but unused). */
const newSubscriber = () =>
  api()
    .post("/api/admin/event-subscribers")
    .set(as(boss.token))
    .send({
      name: "answers",
      url: "https://93.184.215.14/in",
      event_types: ["auth.*"],
      enabled: false,
    })
const makeSubscriber = async () => (await newSubscriber()).body.subscriber.id as string

const cases: Record<string, Case[]> = {
  "GET /api/auth/gate": [
    {
      status: 200,
      schema: answers.gateAnswer,
      call: () => api().get("/api/auth/gate").set(as(member.sessionToken)),
    },
    { status: 401, schema: answers.errorAnswer, call: () => api().get("/api/auth/gate") },
  ],
  "POST /api/auth/ack-password-change": [
    {
      status: 200,
      schema: answers.ackAnswer,
      call: () => api().post("/api/auth/ack-password-change").set(as(member.sessionToken)),
    },
    {
      status: 200,
      schema: answers.ackAnswer,
      call: async () => {
        const forced = await registerNative()
        await api()
          .post(`/api/admin/users/${forced.identityId}/force-password-change`)
          .set(as(admin.token))
          .expect(200)
        await changePasswordVia(stackInfo(), forced.sessionToken, "Violet-Canyon-Ledger-58!")
        return api().post("/api/auth/ack-password-change").set(as(forced.sessionToken))
      },
    },
  ],
  "GET /api/me/security": [
    {
      status: 200,
      schema: answers.securityOverviewAnswer,
      call: () => api().get("/api/me/security").set(as(member.sessionToken)),
    },
  ],
  "GET /api/me/activity": [
    {
      status: 200,
      schema: answers.activityPageAnswer,
      call: () => api().get("/api/me/activity?limit=5").set(as(member.sessionToken)),
    },
  ],
  "GET /api/me/sessions": [
    {
      status: 200,
      schema: answers.mySessionsAnswer,
      call: () => api().get("/api/me/sessions").set(as(member.sessionToken)),
    },
  ],
  "DELETE /api/me/sessions/:id": [
    {
      status: 200,
      schema: answers.revokedSessionAnswer,
      call: async () => {
        const other = await loginPassword(member.email, member.password)
        const list = await api().get("/api/me/sessions").set(as(other))
        const current = (list.body as { sessions: { id: string; current: boolean }[] }).sessions
        const target = current.find((s) => s.current)!.id
        return api().delete(`/api/me/sessions/${target}`).set(as(member.sessionToken))
      },
    },
    {
      status: 404,
      schema: answers.errorAnswer,
      call: () => api().delete(`/api/me/sessions/${randomUUID()}`).set(as(member.sessionToken)),
    },
  ],
  "DELETE /api/me/sessions": [
    {
      status: 200,
      schema: answers.revokedSessionsAnswer,
      call: async () => {
        await loginPassword(member.email, member.password)
        return api().delete("/api/me/sessions").set(as(member.sessionToken))
      },
    },
  ],
  "GET /api/me/api-keys": [
    {
      status: 200,
      schema: answers.apiKeyListAnswer,
      call: () => api().get("/api/me/api-keys").set(as(member.sessionToken)),
    },
  ],
  "POST /api/me/api-keys": [
    {
      status: 201,
      schema: answers.apiKeyCreatedAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .post("/api/me/api-keys")
          .set(as(someone.sessionToken))
          .send({ label: "Kiosk", expires_at: new Date(Date.now() + 86_400_000).toISOString() })
      },
    },
    {
      status: 400,
      schema: answers.errorAnswer,
      call: () => api().post("/api/me/api-keys").set(as(member.sessionToken)).send({ label: "" }),
    },
  ],
  "DELETE /api/me/api-keys/:keyId": [
    {
      status: 200,
      schema: answers.apiKeyRevokedAnswer,
      call: async () => {
        const someone = await registerNative()
        const made = await api()
          .post("/api/me/api-keys")
          .set(as(someone.sessionToken))
          .send({ label: "Kiosk" })
          .expect(201)
        return api()
          .delete(`/api/me/api-keys/${(made.body as answers.ApiKeyCreatedAnswer).api_key.id}`)
          .set(as(someone.sessionToken))
      },
    },
    {
      status: 404,
      schema: answers.errorAnswer,
      call: () => api().delete(`/api/me/api-keys/${randomUUID()}`).set(as(member.sessionToken)),
    },
  ],
  "GET /api/admin/users/:id/api-keys": [
    {
      status: 200,
      schema: answers.apiKeyListAnswer,
      call: () => api().get(`/api/admin/users/${member.identityId}/api-keys`).set(as(admin.token)),
    },
  ],
  "POST /api/admin/users/:id/api-keys": [
    {
      status: 201,
      schema: answers.apiKeyCreatedAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .post(`/api/admin/users/${someone.identityId}/api-keys`)
          .set(as(admin.token))
          .send({ label: "Scanner", scope: "member" })
      },
    },
  ],
  "DELETE /api/admin/users/:id/api-keys/:keyId": [
    {
      status: 200,
      schema: answers.apiKeyRevokedAnswer,
      call: async () => {
        const someone = await registerNative()
        const made = await api()
          .post(`/api/admin/users/${someone.identityId}/api-keys`)
          .set(as(admin.token))
          .send({ label: "Scanner" })
          .expect(201)
        const id = (made.body as answers.ApiKeyCreatedAnswer).api_key.id
        return api()
          .delete(`/api/admin/users/${someone.identityId}/api-keys/${id}`)
          .set(as(admin.token))
      },
    },
  ],
  "GET /api/me/recovery-request": [
    {
      status: 200,
      schema: answers.ownRecoveryAnswer,
      call: async () => {
        const { person } = await openRecoveryRequest()
        return api().get("/api/me/recovery-request").set(as(person.token))
      },
    },
    {
      status: 200,
      schema: answers.ownRecoveryAnswer,
      call: () => api().get("/api/me/recovery-request").set(as(member.sessionToken)),
    },
  ],
  "POST /api/me/recovery-request/code": [
    {
      status: 202,
      schema: answers.recoveryCodeSentAnswer,
      call: async () => {
        const person = await lostDevice()
        return api().post("/api/me/recovery-request/code").set(as(person.token))
      },
    },
    {
      status: 409,
      schema: answers.errorAnswer,
      call: async () => {
        const plain = await registerNative()
        return api().post("/api/me/recovery-request/code").set(as(plain.sessionToken))
      },
    },
  ],
  "POST /api/me/recovery-request": [
    {
      status: 201,
      schema: answers.ownRecoveryAnswer,
      call: async () => (await openRecoveryRequest()).made,
    },
    {
      status: 400,
      schema: answers.errorAnswer,
      call: () =>
        api().post("/api/me/recovery-request").set(as(member.sessionToken)).send({ code: "1" }),
    },
  ],
  "GET /api/admin/recovery-requests": [
    {
      status: 200,
      schema: answers.recoveryQueueAnswer,
      call: async () => {
        await openRecoveryRequest()
        return api().get("/api/admin/recovery-requests?status=all").set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/recovery-requests/:id/approve": [
    {
      status: 200,
      schema: answers.recoveryApprovedAnswer,
      call: async () => {
        const { id } = await openRecoveryRequest()
        return api().post(`/api/admin/recovery-requests/${id}/approve`).set(as(admin.token))
      },
    },
    {
      status: 404,
      schema: answers.errorAnswer,
      call: () =>
        api().post(`/api/admin/recovery-requests/${randomUUID()}/approve`).set(as(admin.token)),
    },
  ],
  "POST /api/admin/recovery-requests/:id/deny": [
    {
      status: 200,
      schema: answers.recoveryDeniedAnswer,
      call: async () => {
        const { id } = await openRecoveryRequest()
        return api()
          .post(`/api/admin/recovery-requests/${id}/deny`)
          .set(as(admin.token))
          .send({ note: "Call the service desk." })
      },
    },
  ],
  "GET /api/admin/users": [
    {
      status: 200,
      schema: answers.userListAnswer,
      call: () => api().get("/api/admin/users?limit=5").set(as(admin.token)),
    },
    {
      status: 403,
      schema: answers.errorAnswer,
      call: () => api().get("/api/admin/users").set(as(member.sessionToken)),
    },
  ],
  "POST /api/admin/users": [
    {
      status: 201,
      schema: answers.provisionedAnswer,
      call: () =>
        api().post("/api/admin/users").set(as(admin.token)).send({ email: uniqueEmail() }),
    },
    {
      status: 400,
      schema: answers.errorAnswer,
      call: () => api().post("/api/admin/users").set(as(admin.token)).send({ email: "nope" }),
    },
  ],
  "GET /api/admin/users/:id": [
    {
      status: 200,
      schema: answers.userDetailAnswer,
      call: () => api().get(`/api/admin/users/${member.identityId}`).set(as(admin.token)),
    },
  ],
  "PUT /api/admin/users/:id/role": [
    {
      status: 200,
      schema: answers.roleChangeAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .put(`/api/admin/users/${someone.identityId}/role`)
          .set(as(boss.token))
          .send({ role: "member" })
      },
    },
  ],
  "PUT /api/admin/users/:id/manager": [
    {
      status: 200,
      schema: answers.managerChangeAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .put(`/api/admin/users/${someone.identityId}/manager`)
          .set(as(admin.token))
          .send({ manager_id: admin.identityId })
      },
    },
  ],
  "POST /api/admin/users/:id/force-password-change": [
    {
      status: 200,
      schema: answers.forcedChangeAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .post(`/api/admin/users/${someone.identityId}/force-password-change`)
          .set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/users/:id/reset-2fa": [
    {
      status: 200,
      schema: answers.twoFactorResetAnswer,
      call: async () => {
        const someone = await registerNative()
        await enrolTotp(someone.sessionToken)
        return api().post(`/api/admin/users/${someone.identityId}/reset-2fa`).set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/users/:id/revoke-sessions": [
    {
      status: 200,
      schema: answers.sessionsRevokedAnswer,
      call: async () => {
        const someone = await registerNative()
        return api()
          .post(`/api/admin/users/${someone.identityId}/revoke-sessions`)
          .set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/users/:id/deactivate": [
    {
      status: 200,
      schema: answers.stateAnswer,
      call: async () => {
        const someone = await registerNative()
        return api().post(`/api/admin/users/${someone.identityId}/deactivate`).set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/users/:id/reactivate": [
    {
      status: 200,
      schema: answers.stateAnswer,
      call: async () => {
        const someone = await registerNative()
        await api()
          .post(`/api/admin/users/${someone.identityId}/deactivate`)
          .set(as(admin.token))
          .expect(200)
        return api().post(`/api/admin/users/${someone.identityId}/reactivate`).set(as(admin.token))
      },
    },
  ],
  "GET /api/admin/audit": [
    {
      status: 200,
      schema: answers.auditPageAnswer,
      call: () =>
        api().get(`/api/admin/audit?subject=${member.identityId}&limit=5`).set(as(admin.token)),
    },
  ],
  "GET /api/admin/notifications": [
    {
      status: 200,
      schema: answers.notificationPageAnswer,
      call: () => api().get("/api/admin/notifications?limit=5").set(as(admin.token)),
    },
  ],
  "POST /api/admin/notifications/:id/retry": [
    {
      status: 404,
      schema: answers.errorAnswer,
      call: () => api().post(`/api/admin/notifications/${randomUUID()}/retry`).set(as(admin.token)),
    },
  ],
  "GET /api/me/notifications": [
    {
      status: 200,
      schema: answers.notificationSettingsAnswer,
      call: () => api().get("/api/me/notifications").set(as(member.sessionToken)),
    },
  ],
  "PUT /api/me/notifications": [
    {
      status: 200,
      schema: answers.notificationSettingsAnswer,
      call: () =>
        api()
          .put("/api/me/notifications")
          .set(as(member.sessionToken))
          .send({ "user.new_device_login": true }),
    },
    {
      status: 409,
      schema: answers.errorAnswer,
      call: () =>
        api()
          .put("/api/me/notifications")
          .set(as(member.sessionToken))
          .send({ "user.password_changed": false }),
    },
  ],
  "GET /api/admin/event-subscribers": [
    {
      status: 200,
      schema: answers.eventSubscriberListAnswer,
      call: async () => {
        await makeSubscriber()
        return api().get("/api/admin/event-subscribers").set(as(admin.token))
      },
    },
  ],
  "POST /api/admin/event-subscribers": [
    { status: 201, schema: answers.eventSubscriberSecretAnswer, call: () => newSubscriber() },
    {
      status: 400,
      schema: answers.errorAnswer,
      call: () =>
        api()
          .post("/api/admin/event-subscribers")
          .set(as(boss.token))
          .send({ name: "x", url: "http://169.254.169.254/", event_types: ["*"] }),
    },
  ],
  "PUT /api/admin/event-subscribers/:id": [
    {
      status: 200,
      schema: answers.eventSubscriberAnswer,
      call: async () =>
        api()
          .put(`/api/admin/event-subscribers/${await makeSubscriber()}`)
          .set(as(boss.token))
          .send({ enabled: true }),
    },
  ],
  "DELETE /api/admin/event-subscribers/:id": [
    {
      status: 200,
      schema: answers.eventSubscriberDeletedAnswer,
      call: async () =>
        api()
          .delete(`/api/admin/event-subscribers/${await makeSubscriber()}`)
          .set(as(boss.token)),
    },
  ],
  "POST /api/admin/event-subscribers/:id/rotate-secret": [
    {
      status: 200,
      schema: answers.eventSubscriberSecretAnswer,
      call: async () =>
        api()
          .post(`/api/admin/event-subscribers/${await makeSubscriber()}/rotate-secret`)
          .set(as(boss.token)),
    },
  ],
  "POST /api/admin/event-subscribers/:id/replay": [
    {
      status: 200,
      schema: answers.eventReplayAnswer,
      call: async () =>
        api()
          .post(`/api/admin/event-subscribers/${await makeSubscriber()}/replay`)
          .set(as(boss.token))
          .send({
            from: new Date(Date.now() - 60_000).toISOString(),
            to: new Date().toISOString(),
          }),
    },
  ],
  "GET /api/admin/event-subscribers/:id/deliveries": [
    {
      status: 200,
      schema: answers.eventDeliveryPageAnswer,
      call: async () =>
        api()
          .get(`/api/admin/event-subscribers/${await makeSubscriber()}/deliveries`)
          .set(as(admin.token)),
    },
  ],
  "POST /api/admin/event-deliveries/:id/retry": [
    {
      status: 404,
      schema: answers.errorAnswer,
      call: () =>
        api().post(`/api/admin/event-deliveries/${randomUUID()}/retry`).set(as(admin.token)),
    },
  ],
  "GET /api/admin/policy": [
    {
      status: 200,
      schema: answers.policyAnswer,
      call: () => api().get("/api/admin/policy").set(as(admin.token)),
    },
  ],
  "PUT /api/admin/policy": [
    {
      status: 200,
      schema: answers.policyAnswer,
      call: async () => {
        // The same value again: the policy is shared by every test in this run.
        const current = await api().get("/api/admin/policy").set(as(boss.token))
        const days = (current.body as answers.PolicyAnswer).password_rotation_days
        return api()
          .put("/api/admin/policy")
          .set(as(boss.token))
          .send({ password_rotation_days: days })
      },
    },
  ],
}

/** Routes whose answer is not JSON (their own tests check them). */
const NOT_JSON = { "GET /api/admin/audit.csv": "CSV, streamed (admin-api.test.ts)" }

describe("every /api answer matches its schema", () => {
  it("when the app's routes are listed, then every /api route has cases here", () => {
    const { app, close } = inProcessApp({})
    try {
      const routes = appRoutes(app).filter((r) => r.split(" ")[1]!.startsWith("/api/"))
      const covered = new Set([...Object.keys(cases), ...Object.keys(NOT_JSON)])
      expect(routes.filter((r) => !covered.has(r))).toEqual([])
      expect([...covered].filter((r) => !routes.includes(r))).toEqual([])
    } finally {
      void close()
    }
  })

  for (const [route, list] of Object.entries(cases)) {
    list.forEach((c, i) => {
      it(`${route} (${c.status}, case ${i + 1})`, async () => {
        const res = await c.call()
        expect(res.status).toBe(c.status)
        const parsed = c.schema.safeParse(res.body)
        expect(parsed.success ? [] : parsed.error.issues).toEqual([])
      })
    })
  }
})

import { randomBytes } from "node:crypto"
import { appendFileSync, mkdirSync } from "node:fs"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import type { SettingsFlow } from "@ory/client"
import postgres from "postgres"
import request from "supertest"
import { driftOf, kratosSide } from "../../webhooks/domain/authorization"
import { reconcileAuthorization } from "../../webhooks/domain/kratos-sync"
import { startAdminProxy } from "../harness/admin-proxy"
import { serviceDeps, setAuthorization, type ServiceTarget } from "../harness/authz"
import { node, totpCode } from "../harness/flows"
import { startHookProxy } from "../harness/hook-proxy"
import { kratosClients, registerNative, STRONG_PASSWORD } from "../harness/kratos"
import { startPrivateStack } from "../harness/private-stack"

/**
 * Settings submits, sign-ins and admin changes of one person interleaved, on a stack of its
 * own whose web_hooks go through a proxy (so a test can hold a hook call at an exact point)
 * and whose rate limits let a loop change the password as often as it likes.
 *
 * AUTHZ_RACE_SEEDS (comma-separated) picks the race's seeds; each seed is one run.
 */
const SEEDS = (process.env.AUTHZ_RACE_SEEDS ?? "7,1009,424242,31337")
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n))
const LOOP_MS = Number(process.env.AUTHZ_RACE_MS ?? 3000)
/** Settings writes Kratos must have persisted during a run for it to count. */
const MIN_WRITES = 6
const MIN_ADMIN_CALLS = 5

/** Each run's figures, one line per seed, in test-output/authz-race.log (not committed). */
function report(line: string): void {
  const dir = path.join(__dirname, "..", "..", "test-output")
  mkdirSync(dir, { recursive: true })
  appendFileSync(path.join(dir, "authz-race.log"), `${new Date().toISOString()} ${line}\n`)
}

type Urls = { publicUrl: string; kratosAdminUrl: string }
type Role = "member" | "admin" | "super_admin"

let p: Awaited<ReturnType<typeof startPrivateStack>>
let proxy: Awaited<ReturnType<typeof startHookProxy>>
let adminProxy: Awaited<ReturnType<typeof startAdminProxy>>
let sql: postgres.Sql
let target: ServiceTarget
let urls: Urls
let boss: { identityId: string; token: string }
const api = () => request(urls.publicUrl)

/** A deterministic PRNG (mulberry32), so a failing seed replays the same plan. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  }
}

const freshPassword = () => `Race-${randomBytes(6).toString("hex")}-7!Q`

async function login(email: string, password: string): Promise<string> {
  const { frontend } = kratosClients(urls)
  const { data: flow } = await frontend.createNativeLoginFlow()
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password },
  })
  return data.session_token!
}

async function stepUp(token: string, secret: string): Promise<void> {
  const { frontend } = kratosClients(urls)
  const { data: flow } = await frontend.createNativeLoginFlow({ aal: "aal2", xSessionToken: token })
  await frontend.updateLoginFlow({
    flow: flow.id,
    xSessionToken: token,
    updateLoginFlowBody: { method: "totp", totp_code: totpCode(secret) },
  })
}

type Answer = { status: number; flow?: SettingsFlow; error?: string }

async function settings(
  token: string,
  body: (flow: SettingsFlow) => Record<string, unknown>,
): Promise<Answer> {
  const { frontend } = kratosClients(urls)
  let flow: SettingsFlow
  try {
    flow = (await frontend.createNativeSettingsFlow({ xSessionToken: token })).data
  } catch (err) {
    const res = (err as { response?: { status: number; data?: { error?: { id?: string } } } })
      .response
    return { status: res?.status ?? 0, error: res?.data?.error?.id }
  }
  try {
    const res = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: body(flow) as never,
    })
    return { status: res.status, flow: res.data as SettingsFlow }
  } catch (err) {
    const res = (
      err as { response?: { status: number; data: SettingsFlow & { error?: { id?: string } } } }
    ).response
    return { status: res?.status ?? 0, flow: res?.data, error: res?.data?.error?.id }
  }
}

const secretOf = (f: SettingsFlow) =>
  (node(f, "totp_secret_key")?.attributes as { text?: { text?: string } } | undefined)?.text?.text

async function kratosOf(id: string) {
  const { data } = await kratosClients(urls).identities.getIdentity({
    id,
    includeCredential: ["totp"],
  })
  return data
}

async function recordOf(id: string) {
  const [row] = await sql<
    {
      role: string
      state: string
      manager_id: string | null
      force_required: boolean
      version: number
      synced_version: number | null
    }[]
  >`select role, state, manager_id, force_required, version, synced_version
      from identity_authz where identity_id = ${id}`
  return row!
}

async function events(id: string) {
  return sql<{ event: string; actor_type: string; details: Record<string, unknown> }[]>`
    select event, actor_type, details from audit_events where subject_id = ${id} order by id`
}

/** Waits until no settings write of the identity is in flight and every one is confirmed. */
async function settled(id: string): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const [row] = await sql<{ busy: number; pending: number }[]>`
      select (select count(*)::int from identity_authz
               where identity_id = ${id} and write_until > now()) as busy,
             (select count(*)::int from pending_changes
               where identity_id = ${id} and status = 'pending') as pending`
    if ((row!.busy === 0 && row!.pending === 0) || Date.now() > deadline) return
    await sleep(50)
  }
}

/** Links TOTP with the code of the flow's own secret; answers the secret. */
async function enrolTotp(token: string): Promise<string> {
  let secret = ""
  const res = await settings(token, (f) => {
    secret = secretOf(f)!
    return { method: "totp", totp_code: totpCode(secret) }
  })
  if (res.status !== 200) throw new Error(`TOTP enrolment failed: ${res.status}`)
  return secret
}

beforeAll(async () => {
  proxy = await startHookProxy()
  adminProxy = await startAdminProxy()
  p = await startPrivateStack({
    mutateKratosConfig: (cfg) => proxy.redirect(cfg),
    serviceKratosAdminUrl: (url) => {
      adminProxy.target(url)
      return adminProxy.url
    },
    env: {
      PASSWORD_CHANGES_PER_HOUR: "1000",
      LOGIN_MAX_FAILURES_PER_IDENTIFIER: "1000",
      LOGIN_MAX_FAILURES_PER_IP: "100000",
    },
  })
  urls = p.urls
  target = { serviceDatabaseUrl: p.serviceDatabaseUrl, kratosAdminUrl: p.urls.kratosAdminUrl }
  sql = postgres(p.serviceDatabaseUrl, { max: 4, onnotice: () => {} })
  // A super admin with TOTP and an AAL2 session makes the admin changes.
  const b = await registerNative(undefined, undefined, urls)
  const secret = await enrolTotp(b.sessionToken)
  await setAuthorization(b.identityId, { role: "super_admin", roleAssignedAt: new Date() }, target)
  const token = await login(b.email, STRONG_PASSWORD)
  await stepUp(token, secret)
  boss = { identityId: b.identityId, token }
}, 120_000)

afterAll(async () => {
  await sql?.end({ timeout: 2 })
  await p?.stop()
  await proxy?.close()
  await adminProxy?.close()
})

/** Holds the next call to a hook path at a point of the proxy's choosing. */
function holdNext(
  suffix: string,
  plan: { before?: () => Promise<void>; beforeAnswer?: () => Promise<void> },
) {
  let armed = true
  proxy.setPlan((path) => {
    if (armed && path.endsWith(suffix)) {
      armed = false
      return { kind: "forward", ...plan }
    }
    return { kind: "forward" }
  })
}

const profileSave = (token: string, email: string, first: string) =>
  settings(token, () => ({ method: "profile", traits: { email, name: { first } } }))

describe("an admin change at each point of a settings submit", () => {
  afterEach(() => proxy.setPlan(() => ({ kind: "forward" })))

  it("when a demotion lands after Kratos loaded the identity for a save and before the pre-persist hook, then the save is refused (it would write the old role back) and the demotion stands", async () => {
    const person = await registerNative(undefined, undefined, urls)
    await setAuthorization(person.identityId, { role: "admin", roleAssignedAt: new Date() }, target)
    let demoted: request.Response | undefined
    holdNext("/settings/profile/pre", {
      before: async () => {
        demoted = await api()
          .put(`/api/admin/users/${person.identityId}/role`)
          .set("X-Session-Token", boss.token)
          .send({ role: "member" })
      },
    })
    const save = await profileSave(person.sessionToken, person.email, "Late")
    expect(demoted?.status).toBe(200)
    expect(save.status).toBe(400)
    expect((save.flow?.ui.messages ?? []).map((m) => m.id)).toContain(4100107)
    await settled(person.identityId)
    const after = await kratosOf(person.identityId)
    expect((after.metadata_public as { role: string }).role).toBe("member")
    expect((after.traits as { name?: { first?: string } }).name?.first).toBeUndefined()
  })

  it("when a 2FA reset lands after Kratos loaded the identity for a save and before the pre-persist hook, then the save is refused and the removed factor stays removed", async () => {
    const person = await registerNative(undefined, undefined, urls)
    const secret = await enrolTotp(person.sessionToken)
    const token = await login(person.email, STRONG_PASSWORD)
    await stepUp(token, secret)
    let reset: request.Response | undefined
    holdNext("/settings/profile/pre", {
      before: async () => {
        reset = await api()
          .post(`/api/admin/users/${person.identityId}/reset-2fa`)
          .set("X-Session-Token", boss.token)
      },
    })
    const save = await profileSave(token, person.email, "Late")
    expect(reset?.status).toBe(200)
    expect(save.status).toBe(400)
    await settled(person.identityId)
    expect(Object.keys((await kratosOf(person.identityId)).credentials ?? {})).not.toContain("totp")
  })

  it.each([
    {
      change: "a demotion",
      setUp: { role: "admin" as const, roleAssignedAt: new Date() },
      call: (id: string) => api().put(`/api/admin/users/${id}/role`).send({ role: "member" }),
      holds: (i: Awaited<ReturnType<typeof kratosOf>>) =>
        (i.metadata_public as { role?: string }).role === "member",
    },
    {
      change: "a deactivation",
      setUp: {},
      call: (id: string) => api().post(`/api/admin/users/${id}/deactivate`),
      holds: (i: Awaited<ReturnType<typeof kratosOf>>) => i.state === "inactive",
    },
    {
      change: "a forced password change",
      setUp: {},
      call: (id: string) => api().post(`/api/admin/users/${id}/force-password-change`),
      holds: (i: Awaited<ReturnType<typeof kratosOf>>) =>
        (i.metadata_public as { force_password_change?: { required?: boolean } })
          .force_password_change?.required === true,
    },
  ])(
    "when $change lands between the pre-persist answer and Kratos's write, then it waits for that write, and Kratos holds it when the admin gets the answer and after",
    async ({ change: what, setUp, call, holds }) => {
      const person = await registerNative(undefined, undefined, urls)
      await setAuthorization(person.identityId, setUp, target)
      let change: Promise<{ status: number; kratosHolds: boolean; at: number }> | undefined
      let relayed = 0
      holdNext("/settings/profile/pre", {
        beforeAnswer: async () => {
          change = Promise.resolve(call(person.identityId).set("X-Session-Token", boss.token)).then(
            async (r) => ({
              status: r.status,
              at: Date.now(),
              kratosHolds: holds(await kratosOf(person.identityId)),
            }),
          )
          // Long enough for the change to be saved in the service before Kratos writes.
          await sleep(300)
          relayed = Date.now()
        },
      })
      const save = await profileSave(person.sessionToken, person.email, "Racing")
      const saveDone = Date.now()
      expect(save.status).toBe(200)
      const answered = await change!
      expect([answered.status, answered.kratosHolds]).toEqual([200, true])
      await settled(person.identityId)
      expect(holds(await kratosOf(person.identityId))).toBe(true)
      // It was answered only once the save's write was over (its post-persist call ends it).
      expect(answered.at).toBeGreaterThanOrEqual(saveDone - 50)
      report(
        `${what} saved while Kratos persisted a submit: held in Kratos ${answered.at - relayed} ms ` +
          `after Kratos got the pre-persist answer (the save answered after ${saveDone - relayed} ms)`,
      )
    },
  )
})

describe("when Kratos can't be brought in step", () => {
  afterEach(() => adminProxy.loseWrites(false))

  it("when Kratos doesn't keep the service's writes, then the change answers 503 kratos_out_of_step saying it is saved, is in force in the service, and the reconciler applies it once Kratos keeps writes again", async () => {
    const person = await registerNative(undefined, undefined, urls)
    await setAuthorization(person.identityId, { role: "admin", roleAssignedAt: new Date() }, target)
    adminProxy.loseWrites(true)
    const res = await api()
      .put(`/api/admin/users/${person.identityId}/role`)
      .set("X-Session-Token", boss.token)
      .send({ role: "member" })
    expect([res.status, res.body.error?.reason, res.body.error?.saved]).toEqual([
      503,
      "kratos_out_of_step",
      true,
    ])
    // The write, and four more, each after reading the identity back.
    expect(adminProxy.lostWrites()).toBe(5)
    const record = await recordOf(person.identityId)
    expect(record.role).toBe("member")
    expect(record.synced_version).toBeLessThan(record.version)
    expect((await events(person.identityId)).map((e) => e.event)).toContain("admin.role_changed")
    expect(((await kratosOf(person.identityId)).metadata_public as { role: string }).role).toBe(
      "admin",
    )
    // The service already goes by its record.
    const gate = await api().get("/api/auth/gate").set("X-Session-Token", person.sessionToken)
    expect(gate.headers["x-identity-role"]).toBe("member")

    adminProxy.loseWrites(false)
    await reconcileAuthorization(serviceDeps(target))
    expect(((await kratosOf(person.identityId)).metadata_public as { role: string }).role).toBe(
      "member",
    )
    const after = await recordOf(person.identityId)
    expect(after.synced_version).toBe(after.version)
    // Applying a saved change is not a repair: Kratos never held it.
    expect((await events(person.identityId)).map((e) => e.event)).not.toContain(
      "system.authorization_repaired",
    )
  })
})

interface Shared {
  password: string
  secret: string | null
  stop: boolean
}

type Kind = "profile" | "password" | "totp_link" | "totp_unlink"
type Outcome = { kind: Kind; status: number; why: string | number | undefined }

const refusalId = (f: SettingsFlow | undefined) =>
  f?.ui?.messages?.[0]?.id ??
  f?.ui?.nodes?.flatMap((n) => n.messages ?? []).find((m) => m.type === "error")?.id

/** One loop of settings submits of one kind, signing in again whenever it is signed out. */
async function submitLoop(
  loopNo: number,
  person: { email: string },
  kinds: "profile" | "password" | "totp",
  shared: Shared,
  log: Outcome[],
  acks: { status: number; result?: string }[],
) {
  let token: string | null = null
  let n = 0
  while (!shared.stop) {
    if (!token) {
      token = await login(person.email, shared.password).catch(() => null)
      if (!token) {
        await sleep(25)
        continue
      }
    }
    let kind = (kinds === "totp" ? "totp_link" : kinds) as Kind
    let nextPassword = ""
    let linking = ""
    const res = await settings(token, (f) => {
      n++
      if (kinds === "profile") {
        // Unique across loops: a save that changes nothing is (rightly) not audited.
        const first = `Loop ${loopNo}.${n}`
        return { method: "profile", traits: { email: person.email, name: { first } } }
      }
      if (kinds === "password") {
        nextPassword = freshPassword()
        return { method: "password", password: nextPassword }
      }
      if (node(f, "totp_unlink")) {
        kind = "totp_unlink"
        return { method: "totp", totp_unlink: true }
      }
      linking = secretOf(f) ?? ""
      return { method: "totp", totp_code: totpCode(linking) }
    })
    if (res.status === 200) {
      log.push({ kind, status: 200, why: "ok" })
      if (kind === "password") {
        shared.password = nextPassword
        const ack = await api()
          .post("/api/auth/ack-password-change")
          .set("X-Session-Token", token)
          .catch(() => null)
        if (ack) acks.push({ status: ack.status, result: ack.body?.status })
      }
      if (kind === "totp_link") shared.secret = linking
      if (kind === "totp_unlink") shared.secret = null
      continue
    }
    log.push({ kind, status: res.status, why: res.error ?? refusalId(res.flow) })
    if (res.error === "session_aal2_required" && shared.secret) {
      const ok = await stepUp(token, shared.secret).then(
        () => true,
        () => false,
      )
      if (ok) continue
    }
    // Signed out (a password change elsewhere, a reset, a deactivation), or a session the
    // settings flow no longer takes: start again with a fresh sign-in.
    if (res.status !== 400) token = null
  }
}

type AdminStep =
  | { kind: "role"; role: Role }
  | { kind: "deactivate" }
  | { kind: "reactivate" }
  | { kind: "force" }
  | { kind: "reset" }
  | { kind: "manager"; managerId: string | null }

function tally(xs: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of xs)
    out[`${x.status}:${String(x.why)}`] = (out[`${x.status}:${String(x.why)}`] ?? 0) + 1
  return out
}

async function race(seed: number) {
  const rnd = prng(seed)
  const person = await registerNative(undefined, undefined, urls)
  const managers = [
    (await registerNative(undefined, undefined, urls)).identityId,
    (await registerNative(undefined, undefined, urls)).identityId,
  ]
  const id = person.identityId
  const shared: Shared = { password: STRONG_PASSWORD, secret: null, stop: false }
  const log: Outcome[] = []
  const acks: { status: number; result?: string }[] = []
  const loopKinds = (["profile", "password", "totp", "profile"] as const).slice(0, rnd.int(3, 4))
  const loops = loopKinds.map((k, i) => submitLoop(i, person, k, shared, log, acks))

  // The admin's changes, one after another at random moments while the loops run.
  let role: Role = "member"
  let state: "active" | "inactive" = "active"
  let manager: string | null = null
  const expected: { event: string; details?: Record<string, unknown> }[] = []
  const adminCalls: { step: string; status: number; ms: number }[] = []
  const started = Date.now()
  // For LOOP_MS, and on (up to five times as long) until the loops got writes through and the
  // admin made changes enough: on a busy machine both get fewer in.
  const written = () => log.filter((l) => l.status === 200).length
  while (
    Date.now() - started < LOOP_MS ||
    ((written() < MIN_WRITES || adminCalls.length < MIN_ADMIN_CALLS) &&
      Date.now() - started < 5 * LOOP_MS)
  ) {
    await sleep(rnd.int(40, 250))
    // A deactivation is undone by the next step, so the loops get to run most of the time.
    const choice: "role" | "state" | "force" | "reset" | "manager" =
      state === "inactive"
        ? "state"
        : rnd.pick(["role", "role", "state", "force", "reset", "manager"] as const)
    const step: AdminStep =
      choice === "role"
        ? {
            kind: "role",
            role: rnd.pick((["member", "admin", "super_admin"] as const).filter((r) => r !== role)),
          }
        : choice === "state"
          ? { kind: state === "active" ? "deactivate" : "reactivate" }
          : choice === "manager"
            ? {
                kind: "manager",
                managerId: rnd.pick([...managers, null].filter((m) => m !== manager)),
              }
            : { kind: choice }
    const t0 = Date.now()
    const res = await (
      step.kind === "role"
        ? api().put(`/api/admin/users/${id}/role`).send({ role: step.role })
        : step.kind === "manager"
          ? api().put(`/api/admin/users/${id}/manager`).send({ manager_id: step.managerId })
          : step.kind === "force"
            ? api().post(`/api/admin/users/${id}/force-password-change`)
            : step.kind === "reset"
              ? api().post(`/api/admin/users/${id}/reset-2fa`)
              : api().post(`/api/admin/users/${id}/${step.kind}`)
    ).set("X-Session-Token", boss.token)
    adminCalls.push({ step: step.kind, status: res.status, ms: Date.now() - t0 })
    expect([step, res.status, res.body]).toEqual([step, 200, expect.anything()])
    if (step.kind === "role") {
      expected.push({ event: "admin.role_changed", details: { from: role, to: step.role } })
      role = step.role
    } else if (step.kind === "deactivate" || step.kind === "reactivate") {
      state = step.kind === "deactivate" ? "inactive" : "active"
      expected.push({ event: `admin.user_${step.kind}d` })
    } else if (step.kind === "manager") {
      expected.push({
        event: "admin.manager_changed",
        details: { from: manager, to: step.managerId },
      })
      manager = step.managerId
    } else if (step.kind === "force") {
      if (!res.body.already_required)
        expected.push({ event: "auth.force_password_change_required" })
    } else {
      expected.push({ event: "admin.2fa_reset" })
    }
  }
  shared.stop = true
  await Promise.all(loops)
  await settled(id)
  // The reconciler's next run, here and now rather than on its timer.
  const reconciled = await reconcileAuthorization(serviceDeps(target))

  // 1. Kratos holds what the admin last set, and the service's record agrees with it.
  const identity = await kratosOf(id)
  const record = await recordOf(id)
  const pub = (identity.metadata_public ?? {}) as {
    role?: string
    force_password_change?: { required: boolean }
  }
  const adm = (identity.metadata_admin ?? {}) as { manager_id?: string }
  expect({ role: pub.role, state: identity.state, manager: adm.manager_id ?? null }).toEqual({
    role,
    state,
    manager,
  })
  expect({ role: record.role, state: record.state, manager: record.manager_id }).toEqual({
    role,
    state,
    manager,
  })
  const [row] = await sql`select * from identity_authz where identity_id = ${id}`
  const authz = {
    identityId: id,
    role: row!.role,
    roleAssignedAt: row!.role_assigned_at,
    managerId: row!.manager_id,
    forceRequired: row!.force_required,
    forceSetAt: row!.force_set_at,
    forceSetBy: row!.force_set_by,
    forceClearedAt: row!.force_cleared_at,
    forceFingerprint: row!.force_fingerprint,
    state: row!.state,
  }
  expect(driftOf(authz as never, kratosSide(identity))).toEqual([])
  expect(record.synced_version).toBe(record.version)

  // 2. The trail holds exactly the admin changes that were answered, in their order.
  const trail = await events(id)
  const byAdmin = trail.filter((e) => e.actor_type === "admin")
  expect(byAdmin.map((e) => e.event)).toEqual(expected.map((e) => e.event))
  byAdmin.forEach((e, i) => {
    if (expected[i]!.details) expect(e.details).toMatchObject(expected[i]!.details!)
  })
  // ... and the flag Kratos holds is the one of the last forced change or its clearing.
  const flagEvents = trail.filter((e) => e.event.startsWith("auth.force_password_change_"))
  const lastFlag = flagEvents.at(-1)?.event
  expect(pub.force_password_change?.required ?? null).toBe(
    lastFlag === undefined ? null : lastFlag === "auth.force_password_change_required",
  )
  expect(record.force_required).toBe(lastFlag === "auth.force_password_change_required")

  // 3. Each settings change Kratos confirmed is in the trail once, and what stands is what
  //    the trail says last: TOTP is there exactly when it was last enabled.
  const ok = (k: Kind) => log.filter((l) => l.kind === k && l.status === 200).length
  const count = (event: string, method?: string) =>
    trail.filter((e) => e.event === event && (!method || e.details.method === method)).length
  expect({
    password: count("auth.password_changed"),
    totpOn: count("auth.2fa_enabled", "totp"),
    totpOff: count("auth.2fa_disabled", "totp"),
    profile: count("auth.profile_updated"),
  }).toEqual({
    password: ok("password"),
    totpOn: ok("totp_link"),
    totpOff: ok("totp_unlink"),
    profile: ok("profile"),
  })
  const totpEvents = trail.filter(
    (e) =>
      e.event === "admin.2fa_reset" ||
      ((e.event === "auth.2fa_enabled" || e.event === "auth.2fa_disabled") &&
        e.details.method === "totp"),
  )
  expect("totp" in (identity.credentials ?? {})).toBe(
    totpEvents.at(-1)?.event === "auth.2fa_enabled",
  )

  // 4. The password that stands is the last one changed, and it signs in only while active.
  const signIn = await login(person.email, shared.password).then(
    () => "signed in",
    () => "refused",
  )
  expect(signIn).toBe(state === "active" ? "signed in" : "refused")

  const [window] = await sql<{ n: number; p50: number; p95: number; max: number }[]>`
    select count(*)::int as n,
           percentile_cont(0.5) within group (order by ms) as p50,
           percentile_cont(0.95) within group (order by ms) as p95,
           max(ms) as max
      from (select extract(epoch from resolved_at - created_at) * 1000 as ms
              from pending_changes where identity_id = ${id} and status = 'confirmed') w`
  const repairs = trail.filter((e) => e.event === "system.authorization_repaired")
  const submits = Object.fromEntries(
    (["profile", "password", "totp_link", "totp_unlink"] as const).map((k) => [
      k,
      `${ok(k)}/${log.filter((l) => l.kind === k).length}`,
    ]),
  )
  const ms = adminCalls.map((c) => c.ms).sort((a, b) => a - b)
  report(
    `authz race seed ${seed}: loops ${loopKinds.join("+")}, submits ok/all ${JSON.stringify(submits)}, ` +
      `refusals ${JSON.stringify(tally(log.filter((l) => l.status !== 200)))}, ` +
      `acks ${acks.filter((a) => a.status === 200 && a.result === "cleared").length}/${acks.length}, ` +
      `admin changes ${adminCalls.length} (${adminCalls.map((c) => c.step).join(",")}) p50 ${ms[Math.floor(ms.length / 2)]} ms max ${ms.at(-1)} ms, ` +
      `repairs ${repairs.length} (${repairs.map((r) => `${String(r.details.source)}:${String(r.details.fields)}`).join(" ")}), ` +
      `reconciler ${JSON.stringify(reconciled)}, ` +
      `write window (pre-persist answer to post-persist done) n=${window!.n} p50 ${Math.round(window!.p50)} ms p95 ${Math.round(window!.p95)} ms max ${Math.round(window!.max)} ms`,
  )
  return { writes: written(), adminCalls: adminCalls.length }
}

describe("settings submits, sign-ins and admin changes of one person, interleaved", () => {
  it.each(SEEDS)(
    "when loops of profile, password and TOTP submits race admin changes (seed %i), then afterwards Kratos and the service agree and the trail holds exactly the changes that stand",
    async (seed) => {
      const { writes, adminCalls } = await race(seed)
      expect(writes).toBeGreaterThanOrEqual(MIN_WRITES)
      expect(adminCalls).toBeGreaterThanOrEqual(MIN_ADMIN_CALLS)
    },
    60_000,
  )
})

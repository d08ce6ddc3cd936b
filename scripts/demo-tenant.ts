import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { isIP } from "node:net"
import path from "node:path"
import { generateSync } from "otplib"
import { grantRole } from "./admin"

/**
 * The "Acme Financial Group" demo tenant (SPEC §2): a handful of people in every state the
 * product handles, seeded only through what a real person or operator uses, so every change is
 * audited and notified as it would be: Kratos's self-service flows through the service's
 * origin (registration, sign-in, settings), the service's admin API with the super admin's
 * AAL2 session, and the admin CLI's operator grant. Never Kratos's admin API or the service's
 * tables. Local development only (see demoRefusal).
 */

export const DEMO_DOMAIN = "acme.example"
const SEED_USER_AGENT = "kratos-guard-demo-seed/1"

export interface DemoAccount {
  key: string
  name: string
  email: string
  /** The password as seeded (null: provisioned, no password yet). */
  password: string | null
  role: "member" | "admin" | "super_admin"
  shows: string
  identityId?: string
}

export interface DemoTenant {
  organisation: string
  seededAt: string
  serviceUrl: string
  accounts: DemoAccount[]
  /** The super admin's authenticator secret (base32), as Kratos issued it. */
  totpSecret: string
  /** The provisioned new hire's one-time recovery link, valid 24 h (printed once, not kept). */
  newHireLink?: { link: string; code: string; expiresAt: string }
  /** The reception kiosk's API key, made by Olivia for Daniel (printed once, not kept). */
  kioskKey?: { label: string; owner: string; key: string }
}

const person = (
  key: string,
  name: string,
  role: DemoAccount["role"],
  password: string | null,
  shows: string,
): DemoAccount => ({
  key,
  name,
  email: `${name.toLowerCase().replace(" ", ".")}@${DEMO_DOMAIN}`,
  password,
  role,
  shows,
})

/** Who the tenant holds and what each one is there to show. */
export function demoAccounts(): DemoAccount[] {
  return [
    person(
      "superAdmin",
      "Olivia Chen",
      "super_admin",
      "Olivia-Acme-2025!",
      "super admin, authenticator app + recovery codes: signs in with a code, runs the admin console, changes roles and the policy",
    ),
    person(
      "adminInGrace",
      "Marcus Reed",
      "admin",
      "Marcus-Acme-2025!",
      "admin without 2FA, inside the 72 h grace period: a deadline banner; the console sends him to set up 2FA",
    ),
    person(
      "adminOverdue",
      "Priya Shah",
      "admin",
      "Priya-Acme-2025!",
      "admin without 2FA, past the grace period: locked to the Security page until she enrols",
    ),
    person(
      "manager",
      "Daniel Okafor",
      "member",
      "Daniel-Acme-2025!",
      "manager of Emma, Sofia, Liam and Hannah: gets the mails when a report completes a forced change or is deactivated",
    ),
    person(
      "forced",
      "Emma Lopez",
      "member",
      "Emma-Acme-2025!",
      "member under a forced password change: sent to the Security page with a banner at sign-in",
    ),
    person(
      "active",
      "Sofia Rossi",
      "member",
      "Sofia-Acme-2025!",
      "member with sessions on three devices and activity (sign-ins, a password change, a revoked session)",
    ),
    person(
      "deactivated",
      "Liam Novak",
      "member",
      "Liam-Acme-2025!",
      "deactivated member: can't sign in; his manager and the security team were told",
    ),
    person(
      "lostDevice",
      "Hannah Berg",
      "member",
      "Hannah-Acme-2025!",
      "member who lost her phone (authenticator app): her lost-device request waits in the console under Lost devices",
    ),
    person(
      "newHire",
      "Noah Kim",
      "member",
      null,
      "new hire provisioned by Olivia: no password yet, sets one with the one-time recovery link",
    ),
  ]
}

/** Devices Sofia signs in from (the session list shows them by User-Agent). */
const DEVICES = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
]
const SOFIA_FIRST_PASSWORD = "Sofia-Start-2024!"

/** The device each person uses (sessions and audit entries show it, as for a real browser). */
const DEVICE_OF: Record<string, string> = {
  superAdmin:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  adminInGrace: DEVICES[2]!,
  adminOverdue: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
  manager:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
  forced: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5; rv:127.0) Gecko/20100101 Firefox/127.0",
  active: DEVICES[0]!,
  deactivated: DEVICES[1]!,
  lostDevice:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
}

const LOCAL_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"])

/** Whether a host name or address is this machine (loopback), which the demo may seed. */
export function isLocalHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "")
  if (LOCAL_NAMES.has(h) || h.endsWith(".localhost")) return true
  if (isIP(h) === 4) return h.startsWith("127.")
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h)
  return false
}

/**
 * Why the demo must not run here, or null. Demo accounts have printed passwords, so the seed
 * refuses a production environment and any database or service that is not on this machine.
 */
export function demoRefusal(env: NodeJS.ProcessEnv, serviceUrl?: string): string | null {
  if (env.NODE_ENV === "production")
    return "NODE_ENV is production: demo data is for local development only"
  if (env.DATABASE_URL) {
    const hosts = databaseHosts(env.DATABASE_URL)
    if (!hosts) return "DATABASE_URL can't be read: demo data goes only into a local database"
    const remote = hosts.find((h) => !isLocalHost(h))
    if (remote !== undefined)
      return `DATABASE_URL points at ${remote}, not this machine: demo data goes only into a local database`
  }
  if (serviceUrl) {
    let host: string
    try {
      host = new URL(serviceUrl).hostname
    } catch {
      return `the service URL ${serviceUrl} can't be read`
    }
    if (!isLocalHost(host))
      return `the service at ${host} is not on this machine: demo data goes only into a local stack`
  }
  return null
}

/**
 * The hosts a postgres:// URL connects to (postgres.js takes a comma-separated list and a
 * `host` parameter; a path there is a Unix socket, i.e. this machine). Null when unreadable.
 */
function databaseHosts(databaseUrl: string): string[] | null {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?#]*@)?([^/?#]*)(?:[/?#]|$)/i.exec(databaseUrl)
  if (!m) return null
  let query: URLSearchParams
  try {
    query = new URL(databaseUrl.replace(/^[a-z]+:\/\/[^/?#]*/i, "http://x")).searchParams
  } catch {
    return null
  }
  const fromParam = query.getAll("host").flatMap((h) => h.split(","))
  const fromAuthority = m[1]!
    .split(",")
    .filter(Boolean)
    .map((h) => (h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d*$/, "")))
  const hosts = [...fromAuthority, ...fromParam].filter((h) => !h.startsWith("/"))
  // No host at all: the default Unix socket.
  return hosts.map((h) => decodeURIComponent(h))
}

export class DemoError extends Error {}

interface Answer {
  status: number
  body: Record<string, unknown>
}

/** JSON over the service's one origin, as a native app (session token) or a script sends it. */
class Origin {
  constructor(readonly base: string) {}

  async call(
    method: string,
    url: string,
    o: { token?: string; body?: unknown; userAgent?: string } = {},
  ): Promise<Answer> {
    const res = await fetch(`${this.base}${url}`, {
      method,
      headers: {
        accept: "application/json",
        "user-agent": o.userAgent ?? SEED_USER_AGENT,
        ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(o.token ? { "x-session-token": o.token } : {}),
      },
      body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
      redirect: "manual",
    }).catch((err: Error) => {
      throw new DemoError(
        `can't reach the service at ${this.base} (${err.message}); is it running?`,
      )
    })
    const text = await res.text()
    let body: Record<string, unknown>
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
    } catch {
      body = { text }
    }
    return { status: res.status, body }
  }

  /** The same, and a DemoError naming the step when the answer is not 2xx. */
  async ok(
    step: string,
    method: string,
    url: string,
    o: { token?: string; body?: unknown; userAgent?: string } = {},
  ): Promise<Record<string, unknown>> {
    const a = await this.call(method, url, o)
    if (a.status >= 200 && a.status < 300) return a.body
    throw new DemoError(`${step}: ${a.status} ${problem(a.body)}`)
  }

  /** A native self-service flow: create it, then submit one body. */
  async flow(
    step: string,
    kind: "registration" | "login" | "settings",
    body: Record<string, unknown>,
    o: { token?: string; userAgent?: string; query?: string } = {},
  ): Promise<Record<string, unknown>> {
    const flow = await this.ok(
      `${step} (flow)`,
      "GET",
      `/self-service/${kind}/api${o.query ?? ""}`,
      o,
    )
    return this.ok(step, "POST", `/self-service/${kind}?flow=${String(flow.id)}`, { ...o, body })
  }
}

/** The readable part of a Kratos flow or a service error. */
function problem(body: Record<string, unknown>): string {
  const err = body.error as { message?: string; reason?: string } | undefined
  if (err?.message) return err.message
  const ui = body.ui as
    { messages?: { text: string }[]; nodes?: { messages?: { text: string }[] }[] } | undefined
  const texts = [
    ...(ui?.messages ?? []),
    ...(ui?.nodes ?? []).flatMap((n) => n.messages ?? []),
  ].map((m) => m.text)
  return texts.join(" ") || JSON.stringify(body).slice(0, 200)
}

/** Kratos's message id for "an account with the same identifier exists already". */
const EXISTS = 4000007

function hasMessage(body: Record<string, unknown>, id: number): boolean {
  const ui = body.ui as
    { messages?: { id: number }[]; nodes?: { messages?: { id: number }[] }[] } | undefined
  return [...(ui?.messages ?? []), ...(ui?.nodes ?? []).flatMap((n) => n.messages ?? [])].some(
    (m) => m.id === id,
  )
}

export interface SeedOptions {
  serviceUrl: string
  /** The operator key the admin CLI sends (KRATOS_WEBHOOK_API_KEY). */
  apiKey: string
  /** Where the seeded tenant is remembered (the TOTP secret; mode 0600), e.g. .data/demo.json. */
  stateFile: string
  log?: (line: string) => void
}

/**
 * Seeds the tenant, or answers the one seeded before on this stack (`fresh: false`). Fails with
 * a DemoError naming the step that was refused.
 */
export async function seedDemo(o: SeedOptions): Promise<{ tenant: DemoTenant; fresh: boolean }> {
  const log = o.log ?? (() => {})
  const api = new Origin(o.serviceUrl.replace(/\/+$/, ""))
  const ready = await api.call("GET", "/health/ready")
  if (ready.status !== 200) throw new DemoError(`the service at ${api.base} is not ready yet`)

  const accounts = demoAccounts()
  const by = Object.fromEntries(accounts.map((a) => [a.key, a])) as Record<string, DemoAccount>
  const olivia = by.superAdmin!

  const oliviaDevice = { userAgent: DEVICE_OF.superAdmin }
  const first = await registration(api, olivia, olivia.password!)
  if (first === "exists") return { tenant: previousSeed(o.stateFile, olivia.email), fresh: false }
  log("Seeding the Acme Financial Group demo tenant…")

  // The super admin: an authenticator app and recovery codes, then the operator's grant.
  const { secret } = await enrolTotp(api, first.token)
  await saveRecoveryCodes(api, first.token)
  // Her sign-up session ends; she signs in again as the super admin, with her code.
  await api.ok("sign-out after the set-up", "DELETE", "/self-service/logout/api", {
    ...oliviaDevice,
    body: { session_token: first.token },
  })
  await grantRole({
    serviceUrl: api.base,
    apiKey: o.apiKey,
    email: olivia.email,
    role: "super_admin",
  })
  const boss = await signIn(api, olivia.email, olivia.password!, {
    ...oliviaDevice,
    totpSecret: secret,
  })

  // Everyone else registers as they would themselves (Sofia with a first password she changes).
  for (const a of accounts) {
    if (a === olivia) {
      a.identityId = first.identityId
      continue
    }
    if (!a.password) continue
    const r = await registration(api, a, a.key === "active" ? SOFIA_FIRST_PASSWORD : a.password)
    if (r === "exists") throw new DemoError(`${a.email} exists already: start from an empty stack`)
    a.identityId = r.identityId
  }

  const admin = (step: string, method: string, url: string, body?: unknown) =>
    api.ok(step, method, url, { ...oliviaDevice, token: boss, body })
  const id = (key: string) => by[key]!.identityId!

  // Roles: Marcus by Olivia now (his grace period starts); Priya by the operator, dated when
  // she became an admin in the directory the tenant moved from, four days ago (past 72 h).
  await admin("Marcus's admin role", "PUT", `/api/admin/users/${id("adminInGrace")}/role`, {
    role: "admin",
  })
  await grantRole({
    serviceUrl: api.base,
    apiKey: o.apiKey,
    email: by.adminOverdue!.email,
    role: "admin",
    assignedAt: new Date(Date.now() - 4 * 86_400_000).toISOString(),
  })
  for (const report of ["forced", "active", "deactivated"]) {
    await admin(`${by[report]!.name}'s manager`, "PUT", `/api/admin/users/${id(report)}/manager`, {
      manager_id: id("manager"),
    })
  }

  // Sofia: three devices, a password change (the others are signed out by Kratos), then two
  // devices again and one of them revoked from the other.
  const sofia = by.active!
  for (const ua of DEVICES) await signIn(api, sofia.email, SOFIA_FIRST_PASSWORD, { userAgent: ua })
  const laptop = await signIn(api, sofia.email, SOFIA_FIRST_PASSWORD, { userAgent: DEVICES[0] })
  await api.flow(
    "Sofia's password change",
    "settings",
    { method: "password", password: sofia.password },
    { token: laptop, userAgent: DEVICES[0] },
  )
  for (const ua of DEVICES.slice(1))
    await signIn(api, sofia.email, sofia.password!, { userAgent: ua })
  const mine = await api.ok("Sofia's sessions", "GET", "/api/me/sessions", {
    token: laptop,
    userAgent: DEVICES[0],
  })
  const other = (mine.sessions as { id: string; current: boolean }[]).find((s) => !s.current)
  if (other)
    await api.ok("Sofia revokes a session", "DELETE", `/api/me/sessions/${other.id}`, {
      token: laptop,
      userAgent: DEVICES[0],
    })

  // The others sign in once, so the console shows a session and a last sign-in.
  for (const key of ["adminInGrace", "adminOverdue", "manager", "forced", "deactivated"])
    await signIn(api, by[key]!.email, by[key]!.password!, { userAgent: DEVICE_OF[key] })

  await admin(
    "Emma's forced password change",
    "POST",
    `/api/admin/users/${id("forced")}/force-password-change`,
  )
  await admin("Liam's deactivation", "POST", `/api/admin/users/${id("deactivated")}/deactivate`)

  const hire = by.newHire!
  const provisioned = (await admin("Noah's account", "POST", "/api/admin/users", {
    email: hire.email,
    first_name: hire.name.split(" ")[0],
    last_name: hire.name.split(" ")[1],
    role: "member",
  })) as Record<string, unknown>
  hire.identityId = String(provisioned.id)
  const recovery = {
    link: provisioned.recovery_link as string | undefined,
    code: provisioned.recovery_code as string | undefined,
    expiresAt: (provisioned.expires_at as string | null) ?? "",
  }

  // A device API key for the reception kiosk, made by Olivia for Daniel (member access, 90 days).
  const manager = by.manager!
  const kiosk = (await admin(
    "the reception kiosk's API key",
    "POST",
    `/api/admin/users/${id("manager")}/api-keys`,
    {
      label: "Reception kiosk",
      scope: "member",
      expires_at: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    },
  )) as { key?: string }

  // Hannah lost her phone: an authenticator app she can't reach, a verified address, and a
  // lost-device request waiting for an admin (sent after signing in with her password).
  const hannah = by.lostDevice!
  await admin("Hannah's manager", "PUT", `/api/admin/users/${id("lostDevice")}/manager`, {
    manager_id: id("manager"),
  })
  const request = await lostDeviceRequest(api, hannah).catch((err: Error) => {
    log(`  (no lost-device request in the demo: ${err.message})`)
    return null
  })
  if (request) log(`  Hannah's lost-device request waits for an admin (${request})`)

  const tenant: DemoTenant = {
    organisation: "Acme Financial Group",
    seededAt: new Date().toISOString(),
    serviceUrl: api.base,
    accounts,
    totpSecret: secret,
    ...(recovery.link && recovery.code
      ? { newHireLink: { link: recovery.link, code: recovery.code, expiresAt: recovery.expiresAt } }
      : {}),
    ...(kiosk.key
      ? { kioskKey: { label: "Reception kiosk", owner: manager.name, key: kiosk.key } }
      : {}),
  }
  mkdirSync(path.dirname(o.stateFile), { recursive: true })
  const { newHireLink: _printedOnce, kioskKey: _alsoPrintedOnce, ...kept } = tenant
  writeFileSync(o.stateFile, JSON.stringify(kept, null, 2), { mode: 0o600 })
  return { tenant, fresh: true }
}

function previousSeed(stateFile: string, email: string): DemoTenant {
  if (!existsSync(stateFile))
    throw new DemoError(
      `${email} exists already, but ${stateFile} (what the demo seeded) is missing: start from an empty stack (stop it and remove .data)`,
    )
  return JSON.parse(readFileSync(stateFile, "utf8")) as DemoTenant
}

/** The newest mail to `to` whose subject matches, from the dev inbox (`/dev/mail`). */
async function mailTo(api: Origin, to: string, subject: RegExp, after: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const inbox = await api.call("GET", "/dev/mail/messages")
    const found = Array.isArray(inbox.body)
      ? (inbox.body as { to: string[]; subject: string; text: string; date?: string }[]).filter(
          (m) => m.to.includes(to) && subject.test(m.subject),
        )
      : []
    if (found.length > after) return found[0]!.text
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new DemoError(`no mail "${subject.source}" to ${to} in the dev inbox`)
}

async function mailCount(api: Origin, to: string, subject: RegExp): Promise<number> {
  const inbox = await api.call("GET", "/dev/mail/messages")
  return Array.isArray(inbox.body)
    ? (inbox.body as { to: string[]; subject: string }[]).filter(
        (m) => m.to.includes(to) && subject.test(m.subject),
      ).length
    : 0
}

/**
 * The lost-device story, as Hannah lives it: an authenticator app, her address verified with
 * Kratos's code, then (phone gone) a password sign-in, our mailed code and her request.
 */
async function lostDeviceRequest(api: Origin, a: DemoAccount): Promise<string> {
  const userAgent = DEVICE_OF[a.key]
  const first = await signIn(api, a.email, a.password!, { userAgent })
  await enrolTotp(api, first, userAgent)
  // Kratos's own verification flow, its code read from the dev inbox.
  const verifySubject = /verify/i
  const before = await mailCount(api, a.email, verifySubject)
  const flow = await api.ok(
    "Hannah's verification (flow)",
    "GET",
    "/self-service/verification/api",
    {
      userAgent,
    },
  )
  const url = `/self-service/verification?flow=${String(flow.id)}`
  await api.ok("Hannah's verification code", "POST", url, {
    userAgent,
    body: { method: "code", email: a.email },
  })
  const verifyCode = /\b(\d{6})\b/.exec(await mailTo(api, a.email, verifySubject, before))?.[1]
  if (!verifyCode) throw new DemoError("Kratos's verification mail held no code")
  await api.ok("Hannah's verification", "POST", url, {
    userAgent,
    body: { method: "code", code: verifyCode },
  })
  // Her phone is gone: a password sign-in (AAL1) is all she has.
  const token = await signIn(api, a.email, a.password!, { userAgent })
  const codeSubject = /lost-device request/i
  const sent = await mailCount(api, a.email, codeSubject)
  await api.ok("Hannah asks for a code", "POST", "/api/me/recovery-request/code", {
    token,
    userAgent,
  })
  const code = /Your code is (\d{6})/.exec(await mailTo(api, a.email, codeSubject, sent))?.[1]
  if (!code) throw new DemoError("the lost-device mail held no code")
  const made = (await api.ok("Hannah's lost-device request", "POST", "/api/me/recovery-request", {
    token,
    userAgent,
    body: {
      code,
      reason:
        "My phone was stolen on the tram this morning and my recovery codes were in its notes app. I'm at my desk and can take a call.",
    },
  })) as { request?: { id?: string } }
  return String(made.request?.id ?? "")
}

async function registration(
  api: Origin,
  a: DemoAccount,
  password: string,
): Promise<{ token: string; identityId: string } | "exists"> {
  const userAgent = DEVICE_OF[a.key]
  const flow = await api.ok(
    `${a.name}'s registration (flow)`,
    "GET",
    "/self-service/registration/api",
    { userAgent },
  )
  const [first, last] = a.name.split(" ")
  const answer = await api.call("POST", `/self-service/registration?flow=${String(flow.id)}`, {
    userAgent,
    body: { method: "password", password, traits: { email: a.email, name: { first, last } } },
  })
  if (answer.status === 400 && hasMessage(answer.body, EXISTS)) return "exists"
  if (answer.status !== 200)
    throw new DemoError(`${a.name}'s registration: ${answer.status} ${problem(answer.body)}`)
  const token = answer.body.session_token as string | undefined
  const identityId = (answer.body.identity as { id?: string } | undefined)?.id
  if (!token || !identityId) throw new DemoError(`${a.name}'s registration gave no session`)
  return { token, identityId }
}

async function signIn(
  api: Origin,
  email: string,
  password: string,
  o: { totpSecret?: string; userAgent?: string } = {},
): Promise<string> {
  const done = await api.flow(
    `sign-in of ${email}`,
    "login",
    { method: "password", identifier: email, password },
    { userAgent: o.userAgent },
  )
  const token = done.session_token as string | undefined
  if (!token) throw new DemoError(`sign-in of ${email} gave no session`)
  if (o.totpSecret) {
    await api.flow(
      `second step of ${email}`,
      "login",
      { method: "totp", totp_code: generateSync({ secret: o.totpSecret }) },
      { token, userAgent: o.userAgent, query: "?aal=aal2" },
    )
  }
  return token
}

type Node = { attributes: { name?: string; id?: string; text?: { text?: string } } }

async function enrolTotp(
  api: Origin,
  token: string,
  userAgent = DEVICE_OF.superAdmin,
): Promise<{ secret: string }> {
  const flow = await api.ok("authenticator set-up (flow)", "GET", "/self-service/settings/api", {
    token,
    userAgent,
  })
  const nodes = ((flow.ui as { nodes?: Node[] } | undefined)?.nodes ?? []) as Node[]
  const secret = nodes.find((n) => n.attributes.id === "totp_secret_key")?.attributes.text?.text
  if (!secret) throw new DemoError("the settings flow offered no authenticator secret")
  await api.ok("authenticator set-up", "POST", `/self-service/settings?flow=${String(flow.id)}`, {
    token,
    userAgent,
    body: { method: "totp", totp_code: generateSync({ secret }) },
  })
  return { secret }
}

async function saveRecoveryCodes(api: Origin, token: string): Promise<void> {
  const userAgent = DEVICE_OF.superAdmin
  const flow = await api.ok("recovery codes (flow)", "GET", "/self-service/settings/api", {
    token,
    userAgent,
  })
  const url = `/self-service/settings?flow=${String(flow.id)}`
  await api.ok("recovery codes", "POST", url, {
    token,
    userAgent,
    body: { method: "lookup_secret", lookup_secret_regenerate: true },
  })
  await api.ok("recovery codes saved", "POST", url, {
    token,
    userAgent,
    body: { method: "lookup_secret", lookup_secret_confirm: true },
  })
}

/** The current authenticator code for a secret and how many seconds it stays valid. */
export function currentCode(
  secret: string,
  now = Date.now(),
): { code: string; secondsLeft: number } {
  return {
    code: generateSync({ secret, epoch: Math.floor(now / 1000) }),
    secondsLeft: 30 - (Math.floor(now / 1000) % 30),
  }
}

/** The table a newcomer reads after `npm start -- --demo` or `npm run demo`. */
export function formatDemo(tenant: DemoTenant, fresh: boolean, now = Date.now()): string {
  const rows = tenant.accounts.map((a) => [a.email, a.password ?? "(none yet)", a.role, a.shows])
  const head = ["Account", "Password", "Role", "What it shows"]
  const width = (i: number) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length))
  const widths = [0, 1, 2].map(width)
  const line = (r: string[]) =>
    `  ${r
      .slice(0, 3)
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")}  ${r[3]}`
  const { code, secondsLeft } = currentCode(tenant.totpSecret, now)
  const olivia = tenant.accounts.find((a) => a.role === "super_admin")!
  const out = [
    "",
    `  ${tenant.organisation} (demo, local only)${fresh ? "" : ` — seeded before, at ${tenant.seededAt}; passwords changed since are not shown`}`,
    "",
    line(head),
    line(head.map((h, i) => "-".repeat(i < 3 ? widths[i]! : h.length))),
    ...rows.map(line),
    "",
    `  ${olivia.name}'s authenticator secret: ${tenant.totpSecret}`,
    `  Current code: ${code} (${secondsLeft} s left; \`npm run demo -- code\` prints a fresh one)`,
  ]
  if (tenant.newHireLink)
    out.push(
      `  Noah's one-time recovery link (24 h, shown once): ${tenant.newHireLink.link}  code ${tenant.newHireLink.code}`,
    )
  if (tenant.kioskKey)
    out.push(
      `  ${tenant.kioskKey.owner}'s API key for the ${tenant.kioskKey.label.toLowerCase()} (shown once): ${tenant.kioskKey.key}`,
      `    try it: curl -i -H "Authorization: Bearer ${tenant.kioskKey.key}" ${tenant.serviceUrl}/api/auth/gate`,
    )
  out.push(
    "  Mail to everyone, the security team included, lands in the dev inbox: /dev/mail",
    "  Each change also went out as a signed security event, listed with its check at /dev/events",
    "  README ▸ Five minutes with kratos-guard walks through it.",
    "",
  )
  return out.join("\n")
}

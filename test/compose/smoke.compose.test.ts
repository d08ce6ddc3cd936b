import { spawn } from "node:child_process"
import http from "node:http"
import { Configuration, FrontendApi, type SettingsFlow } from "@ory/client"
import { generateSync } from "otplib"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { enrolTotpInBrowser, launchBrowser, screenshot } from "../harness/browser"
import { eventually } from "../harness/eventually"

/**
 * The smoke test of `docker compose up` (test/compose/run.sh brings the stack up around it):
 * the production stack — Kratos without --dev, NODE_ENV=production, Postgres — reached only
 * through the ports it publishes on 127.0.0.1, in headless Chromium and over HTTP. Kratos's own
 * state is read through its admin API inside the compose network (`docker compose exec`).
 */

const PUBLIC_URL = process.env.COMPOSE_SMOKE_PUBLIC_URL ?? ""
const MAIL_URL = process.env.COMPOSE_SMOKE_MAIL_URL ?? ""
const COMMAND = JSON.parse(process.env.COMPOSE_SMOKE_COMMAND ?? "[]") as string[]
if (!PUBLIC_URL || !MAIL_URL || COMMAND.length === 0) {
  throw new Error("the compose smoke test runs through `npm run test:compose`")
}

const PASSWORD = "Harbour-Lantern-Quiet-42!"
const NEW_PASSWORD = "Copper-Meadow-Falcon-77?"
const MEMBER_NEW_PASSWORD = "Silver-Canyon-Otter-31%"
const SECURITY_TEAM = ["security-team@example.com", "ciso@example.com"]
const STEP_TIMEOUT = 180_000

const frontend = new FrontendApi(new Configuration({ basePath: PUBLIC_URL }))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command with a time limit; answers its exit code and output. */
function run(file: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A GET with the given Host header (fetch does not let a caller set one). */
function rawGet(url: string, host: string) {
  const u = new URL(url)
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port: u.port, path: u.pathname, headers: { host } },
      (res) => {
        res.resume()
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
      },
    )
    req.on("error", reject)
  })
}

const compose = (...args: string[]) => run(COMMAND[0]!, [...COMMAND.slice(1), ...args])

/** Kratos's admin API, from inside the kratos container (its ports are not published). */
async function kratosAdmin<T>(path: string): Promise<T> {
  const r = await compose(
    "exec",
    "-T",
    "kratos",
    "wget",
    "-q",
    "-O",
    "-",
    `http://127.0.0.1:4434/admin${path}`,
  )
  if (r.code !== 0) throw new Error(`Kratos admin ${path}: exit ${r.code} ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

interface AdminIdentity {
  id: string
  traits: { email: string }
  metadata_public: Record<string, unknown> | null
  credentials?: Record<string, unknown>
  verifiable_addresses: { value: string; verified: boolean }[]
}

async function identityByEmail(email: string): Promise<AdminIdentity> {
  const found = await kratosAdmin<AdminIdentity[]>(
    `/identities?credentials_identifier=${encodeURIComponent(email)}`,
  )
  expect(found).toHaveLength(1)
  return kratosAdmin<AdminIdentity>(`/identities/${found[0]!.id}`)
}

interface Mail {
  ID: string
  Subject: string
  To: { Address: string }[]
}

/** Every mail in the Mailpit inbox (its API on the published, loopback-only port). */
async function mails(): Promise<Mail[]> {
  const res = await fetch(`${MAIL_URL}/api/v1/messages?limit=500`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { messages: Mail[] }).messages
}

async function mailText(id: string): Promise<string> {
  const res = await fetch(`${MAIL_URL}/api/v1/message/${id}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { Text: string }).Text
}

const to = (m: Mail, address: string) => m.To.some((t) => t.Address.toLowerCase() === address)

/** The code of the newest verification mail Kratos's courier sent to `email`. */
async function verificationCode(email: string): Promise<string> {
  return eventually(async () => {
    const mail = (await mails()).find((m) => to(m, email) && /verif/i.test(m.Subject))
    expect(mail).toBeDefined()
    const code = /\b(\d{6})\b/.exec(await mailText(mail!.ID))?.[1]
    expect(code).toBeDefined()
    return code!
  }, 60_000)
}

async function nativeLogin(email: string, password: string): Promise<string> {
  const { data: flow } = await frontend.createNativeLoginFlow()
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password },
  })
  if (!data.session_token) throw new Error("login returned no session token")
  return data.session_token
}

async function nativeLoginFails(email: string, password: string): Promise<number> {
  try {
    await nativeLogin(email, password)
    return 200
  } catch (err) {
    return (err as { response?: { status: number } }).response?.status ?? 0
  }
}

async function nativeRegistration(email: string) {
  const { data: flow } = await frontend.createNativeRegistrationFlow()
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: "password", password: PASSWORD, traits: { email } },
  })
  if (!data.session_token) throw new Error("registration returned no session token")
  return { email, identityId: data.identity.id, token: data.session_token }
}

async function stepUpTotp(token: string, secret: string): Promise<void> {
  const { data: flow } = await frontend.createNativeLoginFlow({ aal: "aal2", xSessionToken: token })
  await frontend.updateLoginFlow({
    flow: flow.id,
    xSessionToken: token,
    updateLoginFlowBody: { method: "totp", totp_code: generateSync({ secret }) },
  })
}

async function changePasswordNative(token: string, password: string): Promise<number> {
  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
  try {
    const { status } = await frontend.updateSettingsFlow({
      flow: flow.id,
      xSessionToken: token,
      updateSettingsFlowBody: { method: "password", password },
    })
    return status
  } catch (err) {
    const res = (err as { response?: { status: number; data: SettingsFlow } }).response
    if (!res) throw err
    return res.status
  }
}

function api(path: string, token: string, init: { method?: string; body?: unknown } = {}) {
  return fetch(`${PUBLIC_URL}${path}`, {
    method: init.method ?? "GET",
    headers: {
      "X-Session-Token": token,
      ...(init.body ? { "Content-Type": "application/json" } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  })
}

function uniqueEmail(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}@example.com`
}

let browser: Browser
let context: BrowserContext
let page: Page
const admin = { email: uniqueEmail("admin"), id: "", totpSecret: "" }

beforeAll(async () => {
  browser = await launchBrowser()
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(30_000)
  page = await context.newPage()
})
afterAll(async () => {
  await browser?.close()
})

describe("docker compose up, in production mode", () => {
  it(
    "when the stack is up, then every long-running service is healthy, the one-shot jobs exited 0, and only the service and the Mailpit inbox are published, on 127.0.0.1",
    async () => {
      const r = await compose("ps", "--all", "--format", "json")
      expect(r.code).toBe(0)
      const rows = r.stdout
        .split("\n")
        .filter((l) => l.trim())
        .map(
          (l) =>
            JSON.parse(l) as {
              Service: string
              State: string
              Health: string
              ExitCode: number
              Publishers: { URL: string; PublishedPort: number; TargetPort: number }[] | null
            },
        )
      const by = Object.fromEntries(rows.map((row) => [row.Service, row]))
      for (const s of ["postgres", "kratos", "service", "mailpit"]) {
        expect([s, by[s]?.State, by[s]?.Health]).toEqual([s, "running", "healthy"])
      }
      for (const s of ["kratos-config", "kratos-migrate"]) {
        expect([s, by[s]?.State, by[s]?.ExitCode]).toEqual([s, "exited", 0])
      }
      const published = rows.flatMap((row) =>
        (row.Publishers ?? [])
          .filter((p) => p.PublishedPort > 0)
          .map((p) => `${row.Service}:${p.TargetPort}@${p.URL}`),
      )
      expect(published.sort()).toEqual([`mailpit:8025@127.0.0.1`, `service:4455@127.0.0.1`])
    },
    STEP_TIMEOUT,
  )

  it(
    "when a browser or a client asks the production service, then unknown pages are 404, a missing asset is a 404 without an error in the log, a foreign host is 421 with the security headers, and Kratos's cookies are Secure",
    async () => {
      const page404 = await fetch(`${PUBLIC_URL}/no-such-page`)
      expect(page404.status).toBe(404)
      expect(page404.headers.get("content-type")).toMatch(/text\/html/)
      for (const p of ["/login", "/registration", "/settings", "/admin/team"]) {
        expect([p, (await fetch(`${PUBLIC_URL}${p}`)).status]).toEqual([p, 200])
      }

      const asset = await fetch(`${PUBLIC_URL}/assets/no-such-file.js`)
      expect(asset.status).toBe(404)

      const misdirected = await rawGet(`${PUBLIC_URL}/login`, "evil.example")
      expect(misdirected.status).toBe(421)
      expect(misdirected.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/)
      expect(misdirected.headers["x-content-type-options"]).toBe("nosniff")
      expect(misdirected.headers["x-frame-options"]).toBe("DENY")

      const flow = await fetch(`${PUBLIC_URL}/self-service/login/browser`, {
        headers: { Accept: "application/json" },
      })
      expect(flow.status).toBe(200)
      const cookies = flow.headers.getSetCookie()
      expect(cookies.length).toBeGreaterThan(0)
      for (const c of cookies) expect(c).toMatch(/;\s*Secure/i)

      const logs = await compose("logs", "--no-color", "service")
      expect(logs.stdout).toMatch(/no-such-file\.js/)
      expect(logs.stdout).not.toMatch(/unhandled error|"level":50/)
    },
    STEP_TIMEOUT,
  )

  it(
    "when the service image runs with a terminal attached, then it starts without the dev-only pretty logger",
    async () => {
      const images = await compose("config", "--images")
      const image = images.stdout.split("\n").find((i) => i.startsWith("kratos-guard/service"))
      expect(image).toBeDefined()
      // No database reachable: it must get as far as trying one, with a TTY on stdout.
      const r = await run("docker", [
        "run",
        "--rm",
        "-t",
        "--network",
        "none",
        "-e",
        `KRATOS_WEBHOOK_API_KEY=${"k".repeat(40)}`,
        "-e",
        "DATABASE_URL=postgres://nobody:nothing@127.0.0.1:9/none",
        image!,
      ])
      const out = r.stdout + r.stderr
      expect(out).not.toMatch(/pino-pretty/)
      expect(out).toMatch(/ECONNREFUSED/)
    },
    STEP_TIMEOUT,
  )

  it(
    "when a person registers in the browser, then the verification code from Mailpit verifies the address in Kratos",
    async () => {
      await page.goto(`${PUBLIC_URL}/registration`)
      await page.fill("input[name='traits.email']", admin.email)
      await page.click("button[type=submit]")
      await page.getByRole("button", { name: /^Password/ }).click()
      await page.fill("input[name='password']", PASSWORD)
      await page.click("button[name='method'][value='password']")
      await page.waitForURL(/\/verification\?flow=/)
      const code = await verificationCode(admin.email)
      await page.fill("input[name='code']", code)
      await page.click("button[name='method'][value='code']")
      await eventually(async () => {
        const identity = await identityByEmail(admin.email)
        expect(identity.verifiable_addresses[0]).toMatchObject({
          value: admin.email,
          verified: true,
        })
        admin.id = identity.id
      }, 30_000)
      await screenshot(page, "compose-verified")
    },
    STEP_TIMEOUT,
  )

  it(
    "when they sign in again, then the Security page loads with Kratos's session in a Secure cookie",
    async () => {
      await context.clearCookies()
      await page.goto(`${PUBLIC_URL}/login`)
      await page.waitForURL(/\/login\?flow=/)
      await page.fill("input[name='identifier']", admin.email)
      await page.fill("input[name='password']", PASSWORD)
      await page.click("button[name='method'][value='password']")
      await page.waitForURL(/\/settings/)
      await page.getByRole("heading", { name: "Security", level: 1 }).waitFor()
      const session = (await context.cookies()).find((c) => c.name === "ory_kratos_session")
      expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax" })
      await screenshot(page, "compose-security-page")
    },
    STEP_TIMEOUT,
  )

  it(
    "when they change the password, then the current one is refused with the policy's notice, and a new one is what Kratos accepts afterwards",
    async () => {
      await page.goto(`${PUBLIC_URL}/settings?tab=security`)
      await page.getByLabel("New password", { exact: true }).fill(PASSWORD)
      await page.getByLabel("Confirm new password").fill(PASSWORD)
      await page.getByRole("button", { name: "Change password" }).click()
      await page
        .getByText(/already used|used before|recent/i)
        .first()
        .waitFor()
      await screenshot(page, "compose-password-reused")

      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
      await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
      await page.getByRole("button", { name: "Change password" }).click()
      await page
        .getByTestId("kg-toast")
        .getByText(/Password changed/)
        .waitFor()
      expect(await nativeLoginFails(admin.email, PASSWORD)).toBe(400)
      expect(await nativeLogin(admin.email, NEW_PASSWORD)).toBeTruthy()
    },
    STEP_TIMEOUT,
  )

  it(
    "when they set up the authenticator app, then Kratos holds a TOTP credential for them",
    async () => {
      admin.totpSecret = await enrolTotpInBrowser(page, PUBLIC_URL)
      const identity = await kratosAdmin<AdminIdentity>(`/identities/${admin.id}`)
      expect(Object.keys(identity.credentials ?? {})).toContain("totp")
      await screenshot(page, "compose-totp")
    },
    STEP_TIMEOUT,
  )

  it(
    "when the operator grants super admin with `docker compose exec service … admin grant`, then Kratos records the role",
    async () => {
      const r = await compose(
        "exec",
        "-T",
        "service",
        "node",
        "dist/scripts/admin.js",
        "grant",
        admin.email,
        "super_admin",
      )
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(r.stdout).toMatch(/is now super_admin/)
      const identity = await kratosAdmin<AdminIdentity>(`/identities/${admin.id}`)
      expect(identity.metadata_public).toMatchObject({ role: "super_admin" })
    },
    STEP_TIMEOUT,
  )

  it(
    "when the super admin forces a member's password change, then the member's change clears it and the manager and the security team get mail",
    async () => {
      const member = await nativeRegistration(uniqueEmail("member"))
      const manager = await nativeRegistration(uniqueEmail("manager"))
      const token = await nativeLogin(admin.email, NEW_PASSWORD)
      await stepUpTotp(token, admin.totpSecret)

      const managed = await api(`/api/admin/users/${member.identityId}/manager`, token, {
        method: "PUT",
        body: { manager_id: manager.identityId },
      })
      expect(managed.status).toBe(200)
      const forced = await api(
        `/api/admin/users/${member.identityId}/force-password-change`,
        token,
        {
          method: "POST",
        },
      )
      expect(forced.status).toBe(200)
      const flagged = await kratosAdmin<AdminIdentity>(`/identities/${member.identityId}`)
      expect(flagged.metadata_public).toMatchObject({ force_password_change: { required: true } })
      expect((await api("/api/auth/gate", member.token)).status).toBe(403)

      expect(await changePasswordNative(member.token, MEMBER_NEW_PASSWORD)).toBe(200)
      // What the Security page does after a forced change is saved.
      const ack = await api("/api/auth/ack-password-change", member.token, { method: "POST" })
      expect(ack.status).toBe(200)
      expect((await api("/api/auth/gate", member.token)).status).toBe(200)
      await eventually(async () => {
        const cleared = await kratosAdmin<AdminIdentity>(`/identities/${member.identityId}`)
        const flag = cleared.metadata_public?.force_password_change as
          { required?: boolean } | undefined
        expect(flag?.required ?? false).toBe(false)
      }, 30_000)
      await eventually(async () => {
        const about = (await mails()).filter((m) => m.Subject.includes(member.email))
        const recipients = about.flatMap((m) => m.To.map((t) => t.Address.toLowerCase()))
        expect(recipients).toEqual(expect.arrayContaining([manager.email, ...SECURITY_TEAM]))
      }, 60_000)
    },
    STEP_TIMEOUT,
  )

  it(
    "when the audit trail is checked with `docker compose exec service … audit-verify`, then its hash chain is intact",
    async () => {
      const r = await compose("exec", "-T", "service", "node", "dist/scripts/audit-verify.js")
      expect([r.code, r.stderr]).toEqual([0, ""])
      expect(r.stdout).toMatch(/audit chain OK: \d+ entries/)
      const checked = Number(/OK: (\d+)/.exec(r.stdout)?.[1])
      expect(checked).toBeGreaterThanOrEqual(5)
    },
    STEP_TIMEOUT,
  )

  it(
    "when Kratos's hooks were delivered, then the service kept only the flows' shape: no address, traits or user agent",
    async () => {
      const r = await compose(
        "exec",
        "-T",
        "postgres",
        "psql",
        "-U",
        "postgres",
        "-d",
        "kratos_guard",
        "-At",
        "-c",
        "select hook, payload::text from hook_deliveries order by id",
      )
      expect(r.code).toBe(0)
      const rows = r.stdout.split("\n").filter(Boolean)
      expect(rows.length).toBeGreaterThan(5)
      expect(rows.some((row) => row.startsWith("settings.password.post|"))).toBe(true)
      expect(r.stdout).not.toMatch(/@example\.com|user_agent|"ip"|traits|Mozilla/)
    },
    STEP_TIMEOUT,
  )
})

import { readFileSync } from "node:fs"
import http from "node:http"
import path from "node:path"
import request from "supertest"
import { ROOT } from "../../scripts/stack"
import { inProcessApp } from "../harness/app"
import { browserRegistration } from "../harness/browser-session"
import { eventually } from "../harness/eventually"
import { startPrivateStack } from "../harness/private-stack"
import { stackInfo } from "../harness/stack-info"

/** A GET (or other method) with exactly these headers, Host included. */
function raw(
  url: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on("error", reject)
    req.end()
  })
}

function directives(csp: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const part of (csp ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name) out[name] = values
  }
  return out
}

function expectSecurityHeaders(h: http.IncomingHttpHeaders | Record<string, string>): void {
  const csp = directives(h["content-security-policy"] as string)
  expect(csp["script-src"]).toEqual(["'self'"])
  expect(csp["script-src-attr"]).toEqual(["'none'"])
  expect(csp["default-src"]).toEqual(["'self'"])
  expect(csp["frame-ancestors"]).toEqual(["'none'"])
  expect(csp["object-src"]).toEqual(["'none'"])
  expect(csp["base-uri"]).toEqual(["'self'"])
  expect(csp["form-action"]).toEqual(["'self'"])
  expect(h["x-content-type-options"]).toBe("nosniff")
  expect(h["x-frame-options"]).toBe("DENY")
  expect(h["referrer-policy"]).toBe("same-origin")
  expect(h["x-powered-by"]).toBeUndefined()
}

describe("security headers", () => {
  it("when a UI page loads, then its CSP allows no inline script and no framing, and nothing is sniffed", async () => {
    const res = await request(stackInfo().publicUrl).get("/login")
    expect(res.status).toBe(200)
    expect(res.headers["content-type"]).toMatch(/text\/html/)
    expectSecurityHeaders(res.headers)
    // Plain http: no HSTS, and no upgrade of subresources to an https that is not there.
    expect(res.headers["strict-transport-security"]).toBeUndefined()
    expect(directives(res.headers["content-security-policy"])).not.toHaveProperty(
      "upgrade-insecure-requests",
    )
  })

  it("when the API, a hook, a proxied Kratos answer or Kratos's webauthn.js answers, then the same headers are on it", async () => {
    const base = stackInfo().publicUrl
    for (const [p, status] of [
      ["/api/auth/gate", 401],
      ["/api/no-such-route", 404],
      ["/hooks/login/password", 401],
      ["/self-service/login/browser", 200],
      ["/sessions/whoami", 401],
      ["/.well-known/ory/webauthn.js", 200],
      ["/health/alive", 200],
    ] as const) {
      const res = await raw(`${base}${p}`, { host: new URL(base).host, accept: "application/json" })
      expect([p, res.status]).toEqual([p, status])
      expectSecurityHeaders(res.headers)
    }
  })

  it("when a browser opens a path that is no page of the UI, then it gets the UI's not-found page with status 404 and the same headers", async () => {
    const base = stackInfo().publicUrl
    for (const p of ["/no-such-page", "/login/extra", "/admin/identities", "/settingsx"]) {
      const res = await raw(`${base}${p}`, { host: new URL(base).host })
      expect([p, res.status]).toEqual([p, 404])
      expect(res.headers["content-type"]).toMatch(/text\/html/)
      expect(res.body).toMatch(/<div id="root">/)
      expectSecurityHeaders(res.headers)
    }
    for (const p of ["/", "/login", "/settings", "/admin", "/admin/users/x"]) {
      const res = await raw(`${base}${p}`, { host: new URL(base).host })
      expect([p, res.status]).toEqual([p, 200])
    }
  })

  it("when a browser asks for an asset that is not in the build, then it is a 404 with the headers, and the service logs no error for it", async () => {
    const base = stackInfo().publicUrl
    const name = `/assets/index-${Date.now().toString(36)}.js`
    const res = await raw(`${base}${name}`, { host: new URL(base).host })
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "NOT_FOUND" } })
    expectSecurityHeaders(res.headers)
    const log = () => readFileSync(path.join(stackInfo().dataDir, "service.log"), "utf8")
    await eventually(async () => expect(log()).toContain(name))
    const lines = log()
      .split("\n")
      .filter((l) => l.includes(name))
    for (const line of lines) expect(JSON.parse(line).level).toBeLessThan(50)
    expect(lines.join("\n")).not.toMatch(/ENOENT|stack/)
  })

  it("when the UI is built, then its HTML has no inline script or handler the CSP would block", () => {
    const html = readFileSync(path.join(ROOT, "ui/dist/index.html"), "utf8")
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc=/)
      expect(body!.trim()).toBe("")
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i)
  })

  it("when the public origin is https, then HSTS is sent and insecure requests are upgraded", async () => {
    const { app, close } = inProcessApp({ env: { PUBLIC_URL: "https://auth.example.test" } })
    try {
      const res = await request(app).get("/login").set("Host", "auth.example.test")
      expect(res.status).toBe(200)
      expect(res.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains")
      expect(directives(res.headers["content-security-policy"])).toHaveProperty(
        "upgrade-insecure-requests",
      )
      expectSecurityHeaders(res.headers)
    } finally {
      await close()
    }
  })
})

describe("host header", () => {
  const base = () => stackInfo().publicUrl
  const port = () => new URL(base()).port

  it("when a browser request names a host other than the public origin, then it is answered 421 before the UI, the API or Kratos", async () => {
    for (const host of [
      "evil.example",
      `evil.example:${port()}`,
      `localhost.evil.example:${port()}`,
      `localhost:${Number(port()) + 1}`,
      "localhost",
      "[::2]",
      "localhost:4455@evil.example",
    ]) {
      for (const p of [
        "/login",
        "/api/me/security",
        "/self-service/login/browser",
        "/sessions/whoami",
      ]) {
        const res = await raw(`${base()}${p}`, { host, accept: "application/json" })
        expect([host, p, res.status]).toEqual([host, p, 421])
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: "MISDIRECTED_REQUEST" } })
        expect(res.headers["set-cookie"]).toBeUndefined()
        // A refused page is still a page a browser may render: same headers as any other.
        expectSecurityHeaders(res.headers)
      }
    }
  })

  it("when the host differs from the public one only in letter case, or is a loopback address, then it is served", async () => {
    for (const host of [`LOCALHOST:${port()}`, `127.0.0.1:${port()}`, `[::1]:${port()}`]) {
      const res = await raw(`${base()}/login`, { host })
      expect([host, res.status]).toEqual([host, 200])
    }
  })

  it("when Kratos, the operator's CLI, a health check or a proxy's gate sub-request call under an internal host name, then the host is not checked", async () => {
    const host = "service:4455"
    expect((await raw(`${base()}/api/auth/gate`, { host })).status).toBe(401)
    expect((await raw(`${base()}/health/ready`, { host })).status).toBe(200)
    expect((await raw(`${base()}/health/alive`, { host })).status).toBe(200)
    // No key: the key check answers, not the host check.
    expect((await raw(`${base()}/hooks/login/password`, { host }, "POST")).status).toBe(401)
    expect((await raw(`${base()}/internal/roles`, { host }, "POST")).status).toBe(401)
  })

  it("when a client sends X-Forwarded-Host without a trusted proxy, then it is ignored", async () => {
    const ok = await raw(`${base()}/login`, {
      host: new URL(base()).host,
      "x-forwarded-host": "evil.example",
    })
    expect(ok.status).toBe(200)
    const refused = await raw(`${base()}/login`, {
      host: "evil.example",
      "x-forwarded-host": new URL(base()).host,
    })
    expect(refused.status).toBe(421)
  })

  it("when a trusted reverse proxy forwards the public host, then the request is served", async () => {
    const { app, close } = inProcessApp({
      env: { PUBLIC_URL: "https://auth.example.test", TRUST_PROXY_HOPS: "1" },
    })
    try {
      const served = await request(app)
        .get("/login")
        .set("Host", "kratos-guard:4455")
        .set("X-Forwarded-Host", "auth.example.test")
      expect(served.status).toBe(200)
      const refused = await request(app)
        .get("/login")
        .set("Host", "auth.example.test")
        .set("X-Forwarded-Host", "evil.example")
      expect(refused.status).toBe(421)
    } finally {
      await close()
    }
  })
})

describe("cookies", () => {
  it("when the service answers its own routes, then it sets no cookie", async () => {
    for (const p of ["/settings", "/api/auth/gate", "/health/ready"]) {
      const res = await request(stackInfo().publicUrl).get(p)
      expect([p, res.headers["set-cookie"]]).toEqual([p, undefined])
    }
    // The sign-in page the service renders carries Kratos's CSRF cookie for its flow, as
    // Kratos's own answer would; nothing of the service's.
    const login = await request(stackInfo().publicUrl).get("/login")
    const names = ((login.headers["set-cookie"] as unknown as string[] | undefined) ?? []).map(
      (c) => c.split("=")[0],
    )
    for (const n of names) expect(n).toMatch(/^csrf_token_[0-9a-f]+$/)
  })

  it("when Kratos sets its CSRF and session cookies through the proxy, then they are HttpOnly, SameSite=Lax and for the whole origin", async () => {
    const { csrfSetCookie, sessionSetCookie } = await browserRegistration()
    expect(csrfSetCookie.length).toBeGreaterThan(0)
    for (const line of [...csrfSetCookie, ...sessionSetCookie]) {
      expect(line).toMatch(/;\s*HttpOnly/i)
      expect(line).toMatch(/;\s*SameSite=Lax/i)
      expect(line).toMatch(/;\s*Path=\//i)
      expect(line).not.toMatch(/;\s*Domain=/i)
    }
  })

  it("when Kratos runs without --dev, as in docker compose, then its cookies are also Secure", async () => {
    // Kratos marks cookies Secure unless started with --dev; bcrypt cost 12 is its minimum then.
    const p = await startPrivateStack({ kratosDev: false, env: { KRATOS_BCRYPT_COST: "12" } })
    try {
      const { csrfSetCookie, sessionSetCookie } = await browserRegistration(p.urls.publicUrl)
      for (const line of [...csrfSetCookie, ...sessionSetCookie]) {
        expect(line).toMatch(/;\s*Secure/i)
        expect(line).toMatch(/;\s*HttpOnly/i)
        expect(line).toMatch(/;\s*SameSite=Lax/i)
      }
    } finally {
      await p.stop()
    }
  })
})

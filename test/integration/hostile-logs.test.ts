import { existsSync, readFileSync } from "node:fs"
import http from "node:http"
import path from "node:path"
import type { SettingsFlow } from "@ory/client"
import fc from "fast-check"
import { browserRegistration } from "../harness/browser-session"
import { eventually } from "../harness/eventually"
import {
  enrolTotp,
  loginPassword,
  node,
  settingsFlow,
  stepUpTotp,
  submitSettings,
} from "../harness/flows"
import { anyJson, anyQuery, hostilePayload, type Reply } from "../harness/hostile"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/**
 * The shared stack's service (its real logger, at info level, written to a file) gets real
 * security changes and hostile traffic that carries real secrets in every header it can; its
 * log, and Kratos's, must then contain none of them.
 */

const NEW_PASSWORD = "Copper-Valley-Anchor-77?"

function serviceLog(): string {
  const file = path.join(stackInfo().dataDir, "service.log")
  return existsSync(file) ? readFileSync(file, "utf8") : ""
}

describe("log hygiene", () => {
  it("when security changes and hostile requests carry cookies, tokens, the API key, a TOTP secret and recovery codes, then neither the service log nor Kratos's holds any of them", async () => {
    const key = stackInfo().webhookApiKey
    const base = stackInfo().publicUrl

    // A browser session (cookie) and a native one (token) with real security changes.
    const browser = await browserRegistration()
    const user = await registerNative()
    const changed = await submitSettings(user.sessionToken, {
      method: "password",
      password: NEW_PASSWORD,
    })
    expect(changed.status).toBe(200)
    const { secret } = await enrolTotp(user.sessionToken)
    const first = await submitSettings(user.sessionToken, {
      method: "lookup_secret",
      lookup_secret_regenerate: true,
    })
    const codes = (
      (
        node(first.flow, "lookup_secret_codes")?.attributes as {
          text?: { context?: { secrets?: { text: string }[] } }
        }
      )?.text?.context?.secrets ?? []
    ).map((c) => c.text)
    expect(codes).toHaveLength(12)
    const saved = await submitSettings(
      user.sessionToken,
      { method: "lookup_secret", lookup_secret_confirm: true },
      first.flow as SettingsFlow,
    )
    expect(saved.status).toBe(200)
    const token = await loginPassword(user.email, NEW_PASSWORD)
    await stepUpTotp(token, secret)
    // The TOTP secret and codes once more, as a settings flow shows them.
    await settingsFlow(token)

    const sessionCookieValue = browser.sessionCookie.split("=").slice(1).join("=")
    const secrets: Record<string, string> = {
      "session cookie": sessionCookieValue,
      "registration session token": user.sessionToken,
      "login session token": token,
      "webhook API key": key,
      "TOTP secret": secret,
      password: NEW_PASSWORD,
      ...Object.fromEntries(codes.map((c, i) => [`recovery code ${i + 1}`, c])),
    }

    // Hostile traffic with those secrets in every header where a client could put them.
    const u = new URL(base)
    const targets = [
      "/api/auth/gate",
      "/api/me/security",
      "/api/me/sessions",
      "/api/admin/users",
      "/api/admin/policy",
      "/hooks/settings/totp/pre",
      "/hooks/login/lookup_secret",
      "/internal/roles",
      "/self-service/settings/browser",
      "/sessions/whoami",
    ]
    const methods = ["GET", "POST", "PUT", "DELETE"]
    const bodyWithSecrets = {
      totp_secret_key: secret,
      lookup_secret_codes: codes,
      session_token: token,
      password: NEW_PASSWORD,
    }
    const cases = fc.sample(
      fc.record({
        target: fc.constantFrom(...targets),
        method: fc.constantFrom(...methods),
        query: anyQuery,
        payload: hostilePayload(fc.constant(bodyWithSecrets), bodyWithSecrets),
        extra: anyJson,
      }),
      { numRuns: 300, seed: 42 },
    )
    const sendOne = (c: (typeof cases)[number]) =>
      new Promise<Reply>((resolve) => {
        const headers: Record<string, string> = {
          host: u.host,
          cookie: browser.cookieHeader,
          "x-session-token": token,
          "x-kratos-guard-key": key,
          authorization: `Bearer ${key}`,
          "x-csrf-token": sessionCookieValue,
          "x-kratos-guard-csrf": "1",
          origin: u.origin,
        }
        if (c.payload.contentType) headers["content-type"] = c.payload.contentType
        // Framed explicitly: Node's client sends a GET or DELETE body unframed, and the server
        // then rightly reads those bytes as the next request on the connection.
        if (c.payload.body !== undefined) {
          headers["content-length"] = String(Buffer.byteLength(c.payload.body))
        }
        const r = http.request(
          {
            host: u.hostname,
            port: u.port,
            method: c.method,
            path: c.query ? `${c.target}?${c.query}` : c.target,
            headers,
          },
          (res) => {
            res.resume()
            res.on("error", () => resolve({ status: -1, headers: {}, body: c.payload.label }))
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" }),
            )
          },
        )
        // The server may close the connection on a body it refuses before reading it all.
        r.on("error", () => resolve({ status: -1, headers: {}, body: c.payload.label }))
        r.end(c.payload.body)
      })
    const answers: string[] = []
    for (let i = 0; i < cases.length; i += 6) {
      for (const res of await Promise.all(cases.slice(i, i + 6).map(sendOne))) {
        answers.push(res.status === -1 ? `reset: ${res.body}` : String(res.status))
      }
    }
    expect(
      answers.filter((a) => /^5/.test(a) || (a.startsWith("reset") && !/oversized/.test(a))),
    ).toEqual([])
    expect((await fetch(`${base}/health/ready`)).status).toBe(200)

    // The log has the traffic (so it is the right file, and it is flushed): a last request
    // with a request id of our own shows up...
    const marker = `log-hygiene-${Date.now()}`
    await fetch(`${base}/api/auth/gate`, { headers: { "x-request-id": marker } })
    await eventually(async () => {
      expect(serviceLog()).toContain(marker)
    })
    const log = serviceLog()
    expect(log).toContain("[redacted]")
    // ...and none of the secrets.
    for (const [what, value] of Object.entries(secrets)) {
      expect([what, log.includes(value)]).toEqual([what, false])
    }

    // Kratos's own log (the shared stack runs it at info) prints the headers of every web_hook
    // call it dispatches and of every request it answers, except Authorization, Cookie and
    // X-Session-Token: the key must travel in Authorization, and the proxy must not pass the
    // service's own headers on. X-CSRF-Token is Kratos's to read and log; above it carried the
    // session cookie's value, so that one is left out here.
    const kratosLog = readFileSync(path.join(stackInfo().dataDir, "kratos.log"), "utf8")
    expect(kratosLog).toContain("Dispatching webhook")
    const { "session cookie": _inCsrfHeader, ...notForKratos } = secrets
    for (const [what, value] of Object.entries(notForKratos)) {
      expect([what, kratosLog.includes(value)]).toEqual([what, false])
    }
  })
})

import type { IncomingMessage } from "node:http"
import fc from "fast-check"
import {
  bodyFormat,
  cleanPath,
  codingProblem,
  encodeBody,
  parseBody,
  parsePairs,
  sessionCredential,
} from "../../webhooks/proxy/canonical"
import { kratosRoute } from "../../webhooks/proxy/routes"

/** A request with headers as Node gives them (`headersDistinct`: every value of each). */
function req(headers: Record<string, string | string[]>): IncomingMessage {
  const distinct: Record<string, string[]> = {}
  for (const [k, v] of Object.entries(headers))
    distinct[k.toLowerCase()] = ([] as string[]).concat(v)
  return { headersDistinct: distinct } as unknown as IncomingMessage
}

describe("clean paths", () => {
  it("when a path has one spelling, then it is kept as it is", () => {
    for (const p of [
      "/",
      "/self-service/settings",
      "/sessions/whoami",
      "/.well-known/ory/webauthn.js",
    ]) {
      expect(cleanPath(`${p}?flow=x`)).toBe(p)
    }
  })

  it("when a path could be read as another (dot segments, doubled or encoded slashes, escapes, absolute form), then it is refused", () => {
    for (const p of [
      "/self-service/./settings",
      "/self-service//settings",
      "//self-service/settings",
      "/self-service/%2e/settings",
      "/self-service/%73ettings",
      "/self-service%2Fsettings",
      "/sessions/../self-service/settings",
      "/self-service/settings/",
      "/self-service\\settings",
      "http://localhost/self-service/settings",
      "*",
      "/a/..",
      "/a/.",
    ]) {
      expect({ p, clean: cleanPath(p) }).toEqual({ p, clean: null })
    }
  })

  it("when a path is accepted, then it is already what resolving its dot segments gives", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            "self-service",
            "settings",
            "sessions",
            ".",
            "..",
            "",
            "%2e",
            "login",
            "whoami",
          ),
          {
            maxLength: 6,
          },
        ),
        (segments) => {
          const raw = `/${segments.join("/")}`
          const clean = cleanPath(raw)
          if (clean === null) return
          // Accepted paths are already what a router would clean them to.
          expect(new URL(raw, "http://x").pathname).toBe(clean)
        },
      ),
    )
  })
})

describe("allow-listed Kratos routes", () => {
  it("when a browser's routes are asked for, then each is offered with its method", () => {
    expect(kratosRoute("POST", "/self-service/settings")).toEqual({
      kind: "submit",
      flow: "settings",
    })
    expect(kratosRoute("GET", "/self-service/settings")).toEqual({ kind: "pass", query: ["flow"] })
    expect(kratosRoute("GET", "/self-service/login/browser")).toEqual({ kind: "pass", query: null })
    expect(kratosRoute("GET", "/sessions/whoami")).toEqual({ kind: "pass", query: null })
    expect(kratosRoute("DELETE", "/self-service/logout/api")).toEqual({ kind: "logout-api" })
  })

  it("when a route is Kratos's own business or a method is not a browser's, then it is not offered", () => {
    for (const [m, p] of [
      ["GET", "/health/ready"],
      ["GET", "/admin/identities"],
      ["GET", "/self-service/login"],
      ["GET", "/self-service/registration"],
      ["PUT", "/self-service/settings"],
      ["POST", "/sessions/whoami"],
      ["GET", "/self-service/settings/flows/x"],
      ["DELETE", "/sessions/not-a-uuid"],
      ["HEAD", "/sessions/whoami"],
    ]) {
      expect({ m, p, route: kratosRoute(m!, p!) }).toEqual({ m, p, route: null })
    }
  })
})

describe("strict pairs", () => {
  it("when a key repeats, has a semicolon or a bad escape, then the pairs are refused", () => {
    expect(parsePairs("a=1&a=2", "form body").ok).toBe(false)
    expect(parsePairs("a=1;b=2", "form body").ok).toBe(false)
    expect(parsePairs("a=%zz", "form body").ok).toBe(false)
    expect(parsePairs("a=%ff", "form body").ok).toBe(false)
    expect(parsePairs("=1", "form body").ok).toBe(false)
  })

  it("when pairs are re-encoded, then they parse back to the same values", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, unit: "binary" }), fc.string({ unit: "binary" })),
        (d) => {
          const fields = Object.fromEntries(Object.entries(d).filter(([k]) => !/\p{Cs}/u.test(k)))
          for (const [k, v] of Object.entries(fields)) if (/\p{Cs}/u.test(v)) delete fields[k]
          const parsed = parseBody("form", encodeBody("form", fields))
          expect(parsed.ok && parsed.fields).toEqual(fields)
        },
      ),
    )
  })
})

describe("body formats", () => {
  it("when the Content-Type is exactly one of the two media types, then it is read", () => {
    expect(bodyFormat(req({ "content-type": "application/json" }))).toBe("json")
    expect(bodyFormat(req({ "content-type": "application/json; charset=UTF-8" }))).toBe("json")
    expect(bodyFormat(req({ "content-type": "application/x-www-form-urlencoded" }))).toBe("form")
  })

  it("when the Content-Type is a list, repeated, another charset or has another parameter, then it is refused", () => {
    for (const ct of [
      "application/x-www-form-urlencoded;charset=utf-8, application/json",
      "application/json, application/x-www-form-urlencoded",
      "application/json; charset=latin1",
      "application/json; boundary=x",
      "text/plain",
      ["application/x-www-form-urlencoded", "application/json"],
    ]) {
      const f = bodyFormat(req({ "content-type": ct }))
      expect({ ct, refused: typeof f !== "string" && f.status === 415 }).toEqual({
        ct,
        refused: true,
      })
    }
  })

  it("when a content coding or a transfer coding other than chunked is sent, then it is refused", () => {
    expect(codingProblem(req({ "content-encoding": "gzip" }))?.status).toBe(415)
    expect(codingProblem(req({ "content-encoding": "identity" }))?.status).toBe(415)
    expect(codingProblem(req({ "transfer-encoding": "gzip, chunked" }))?.status).toBe(400)
    expect(codingProblem(req({ "transfer-encoding": "chunked" }))).toBeNull()
  })

  it("when JSON has a lone surrogate or is not an object, then it is refused; a repeated key has one value", () => {
    expect(parseBody("json", Buffer.from('{"a":"\\ud800"}')).ok).toBe(false)
    expect(parseBody("json", Buffer.from("[1]")).ok).toBe(false)
    expect(parseBody("json", Buffer.from('{"a":1} trailing')).ok).toBe(false)
    const dup = parseBody("json", Buffer.from('{"password":"a","password":"b"}'))
    expect(dup.ok && encodeBody("json", dup.fields).toString()).toBe('{"password":"b"}')
  })
})

describe("session credentials", () => {
  it("when X-Session-Token is sent, then it is the one credential, as in Kratos", () => {
    const c = sessionCredential(
      req({
        "x-session-token": "tok",
        authorization: "Bearer other",
        cookie: "ory_kratos_session=abc; csrf_token_x=def",
      }),
    )
    expect(c).toEqual({ ok: true, token: "tok", cookies: [["csrf_token_x", "def"]] })
  })

  it("when only a Bearer token is sent, then it travels as the session token", () => {
    expect(sessionCredential(req({ authorization: "Bearer tok" }))).toEqual({
      ok: true,
      token: "tok",
      cookies: [],
    })
  })

  it("when a Bearer token and a session cookie come together, or a header or Kratos cookie twice, then it is refused", () => {
    expect(
      sessionCredential(req({ authorization: "Bearer t", cookie: "ory_kratos_session=a" })).ok,
    ).toBe(false)
    expect(sessionCredential(req({ "x-session-token": ["a", "b"] })).ok).toBe(false)
    expect(
      sessionCredential(req({ cookie: "ory_kratos_session=a; ory_kratos_session=b" })).ok,
    ).toBe(false)
    expect(
      sessionCredential(req({ cookie: ["ory_kratos_session=a", "ory_kratos_session=b"] })).ok,
    ).toBe(false)
  })

  it("when other cookies are sent, then they stay here", () => {
    expect(sessionCredential(req({ cookie: "theme=dark; ory_kratos_session=abc" }))).toEqual({
      ok: true,
      token: null,
      cookies: [["ory_kratos_session", "abc"]],
    })
  })
})

import type { IncomingHttpHeaders } from "node:http"

/**
 * Request parsing that matches how Kratos (Go's net/http, url.ParseQuery, gofrs/uuid) will read
 * the same bytes, so what the proxy inspects is what Kratos acts on.
 */

/**
 * The path as Go's router sees it: percent-decoded (`/self-service/%73ettings` is
 * `/self-service/settings` to Kratos). Null when it can't be decoded; Go answers such a
 * request 400 itself, so it can't reach a guarded route.
 */
export function canonicalPath(rawUrl: string): string | null {
  let path: string
  if (rawUrl.startsWith("/")) {
    const q = rawUrl.indexOf("?")
    path = q < 0 ? rawUrl : rawUrl.slice(0, q)
  } else {
    // absolute-form request target (`POST http://host/self-service/...`)
    try {
      path = new URL(rawUrl).pathname
    } catch {
      return null
    }
  }
  return goUnescape(path, false)
}

/** The raw query string (without `?`), or "". */
export function rawQuery(rawUrl: string): string {
  const q = rawUrl.indexOf("?")
  return q < 0 ? "" : rawUrl.slice(q + 1)
}

/**
 * Go's `url.ParseQuery`: `&`-separated pairs, `+` is a space, a pair containing `;` or a bad
 * escape is skipped and makes the whole parse an error (`ok: false`). Values keep their order.
 */
export function goParseQuery(s: string): { values: Map<string, string[]>; ok: boolean } {
  const values = new Map<string, string[]>()
  let ok = true
  for (const pair of s.split("&")) {
    if (pair === "") continue
    if (pair.includes(";")) {
      ok = false
      continue
    }
    const eq = pair.indexOf("=")
    const key = goUnescape(eq < 0 ? pair : pair.slice(0, eq), true)
    const value = goUnescape(eq < 0 ? "" : pair.slice(eq + 1), true)
    if (key === null || value === null) {
      ok = false
      continue
    }
    const list = values.get(key)
    if (list) list.push(value)
    else values.set(key, [value])
  }
  return { values, ok }
}

/** `r.URL.Query().Get(name)`: the first value, parse errors ignored. */
export function goQueryGet(rawUrl: string, name: string): string | undefined {
  return goParseQuery(rawQuery(rawUrl)).values.get(name)?.[0]
}

function goUnescape(s: string, plusIsSpace: boolean): string | null {
  if (!s.includes("%") && !(plusIsSpace && s.includes("+"))) return s
  const bytes: number[] = []
  const src = Buffer.from(s, "utf8")
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c === 0x25) {
      const hex = src.subarray(i + 1, i + 3).toString("latin1")
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null
      bytes.push(parseInt(hex, 16))
      i += 2
    } else if (c === 0x2b && plusIsSpace) {
      bytes.push(0x20)
    } else {
      bytes.push(c)
    }
  }
  return Buffer.from(bytes).toString("utf8")
}

const HEX32 = /^[0-9a-f]{32}$/
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * A flow id in every form gofrs/uuid (Kratos's `x.ParseUUID`) accepts — canonical, braced,
 * `urn:uuid:` and 32 hex digits, any case — as the canonical lowercase form; null otherwise.
 */
export function parseFlowId(raw: string | undefined): string | null {
  if (!raw) return null
  let s = raw.toLowerCase()
  if (s.startsWith("urn:uuid:")) s = s.slice(9)
  else if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1)
  if (HEX32.test(s)) {
    s = `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
  }
  return CANONICAL.test(s) ? s : null
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(";")[0]?.trim().toLowerCase()
  return t || undefined
}

const OFFERS = ["text/html", "text/*", "*/*", "application/json"]

/**
 * Kratos's `x.IsJSONRequest`: content negotiation of `Accept` over text/html, text/*, *\/* and
 * application/json (golang/gddo `NegotiateContentType`, default text/html), or a Content-Type
 * of exactly `application/json`. Kratos answers such requests (and every API flow) with JSON;
 * browser form posts get redirects.
 */
export function isJsonRequest(headers: IncomingHttpHeaders): boolean {
  return (
    headers["content-type"] === "application/json" ||
    negotiate(headers.accept) === "application/json"
  )
}

function negotiate(accept: string | undefined): string {
  const specs = (accept ?? "")
    .split(",")
    .map((part) => {
      const [value = "", ...params] = part.split(";").map((p) => p.trim())
      let q = 1
      for (const p of params) {
        const m = /^q=([0-9.]+)$/i.exec(p)
        if (m) q = Number(m[1])
      }
      return { value: value.toLowerCase(), q: Number.isFinite(q) ? q : 0 }
    })
    .filter((s) => s.value !== "")
  let bestOffer = "text/html"
  let bestQ = -1
  let bestWild = 3
  for (const offer of OFFERS) {
    for (const spec of specs) {
      if (spec.q === 0 || spec.q < bestQ) continue
      if (spec.value === "*/*") {
        if (spec.q > bestQ || bestWild > 2) {
          ;[bestQ, bestWild, bestOffer] = [spec.q, 2, offer]
        }
      } else if (spec.value.endsWith("/*")) {
        if (offer.startsWith(spec.value.slice(0, -1)) && (spec.q > bestQ || bestWild > 1)) {
          ;[bestQ, bestWild, bestOffer] = [spec.q, 1, offer]
        }
      } else if (spec.value === offer && (spec.q > bestQ || bestWild > 0)) {
        ;[bestQ, bestWild, bestOffer] = [spec.q, 0, offer]
      }
    }
  }
  return bestOffer
}

const SECRET_PARAM = /pass|secret|token|code|totp|lookup|csrf|key/i

/**
 * The URL for a log line: values of query parameters that can carry a secret (a password or
 * TOTP code submitted to a settings GET, a logout token, an emailed verification code) are
 * replaced; everything else is kept.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?")
  if (q < 0 || !SECRET_PARAM.test(url.slice(q))) return url
  const pairs = url
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=")
      if (eq < 0) return pair
      const name = pair.slice(0, eq)
      let decoded = name
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "))
      } catch {
        // keep the raw name for the test below
      }
      return SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair
    })
  return `${url.slice(0, q)}?${pairs.join("&")}`
}

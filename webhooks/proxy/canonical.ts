import type { IncomingMessage } from "node:http"

/**
 * Strict parsing of what the proxy forwards to Kratos public. The proxy does not predict how
 * Kratos (Go) will read the client's bytes: it parses them once, refuses whatever has more than
 * one reading, decides on the parsed values and sends Kratos a request built from those values
 * (see proxy/guards.ts). Each parser here therefore accepts a narrow, unambiguous subset and
 * answers `null` (or `{ ok: false }`) for everything else.
 */

/** A refusal of the request as sent: the status and a sentence for the client. */
export interface Ambiguity {
  ok: false
  status: 400 | 404 | 415
  reason: string
}

const ambiguous = (reason: string, status: Ambiguity["status"] = 400): Ambiguity => ({
  ok: false,
  status,
  reason,
})

// ---------------------------------------------------------------------------------------------
// Request target

/** A path segment that needs no percent-encoding and is not a dot segment. */
const SEGMENT = /^[A-Za-z0-9_~!$&'()*+,=:@.-]+$/

/**
 * The path of an origin-form request target when it is already clean — what Kratos's router
 * would route it as, byte for byte: no percent-encoding, no empty, `.` or `..` segments, no
 * backslash. Null otherwise (absolute-form, `*`, `/a//b`, `/a/./b`, `/a/%2e/b`, `/a%2Fb`…).
 * Such paths are refused rather than cleaned: no browser sends them, and a path with two readings
 * is exactly what a check in front of Kratos must not guess about.
 */
export function cleanPath(rawUrl: string): string | null {
  if (!rawUrl.startsWith("/")) return null
  const q = rawUrl.indexOf("?")
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q)
  if (path === "/") return path
  const segments = path.slice(1).split("/")
  // A trailing slash leaves one empty last segment; Kratos has no such route, so it is refused
  // like any other empty segment.
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === "." || s === "..") return null
  }
  return path
}

/** The raw query string (without `?`), or "". */
export function rawQuery(rawUrl: string): string {
  const q = rawUrl.indexOf("?")
  return q < 0 ? "" : rawUrl.slice(q + 1)
}

// ---------------------------------------------------------------------------------------------
// URL-encoded pairs (query strings and form bodies)

export type Pairs = { ok: true; values: Map<string, string> } | Ambiguity

/**
 * `application/x-www-form-urlencoded` pairs, strictly: `&`-separated, `+` is a space, every
 * escape valid, the decoded bytes valid UTF-8, no `;` (Go refuses it), no empty key, and no key
 * twice (Go's decoders take the first value of a string field and the last of a boolean one).
 */
export function parsePairs(s: string, what: string): Pairs {
  const values = new Map<string, string>()
  if (s === "") return { ok: true, values }
  for (const pair of s.split("&")) {
    if (pair === "") continue
    if (pair.includes(";")) return ambiguous(`the ${what} contains ";"`)
    const eq = pair.indexOf("=")
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq))
    const value = decodeComponent(eq < 0 ? "" : pair.slice(eq + 1))
    if (key === null || value === null) {
      return ambiguous(`the ${what} has an invalid escape or is not UTF-8`)
    }
    if (key === "") return ambiguous(`the ${what} has an empty name`)
    if (values.has(key))
      return ambiguous(`"${printable(key)}" appears more than once in the ${what}`)
    values.set(key, value)
  }
  return { ok: true, values }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

function decodeComponent(s: string): string | null {
  if (!s.includes("%") && !s.includes("+")) return s
  const src = Buffer.from(s, "utf8")
  const bytes = Buffer.alloc(src.length)
  let n = 0
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c === 0x25) {
      const hi = hexValue(src[i + 1])
      const lo = hexValue(src[i + 2])
      if (hi < 0 || lo < 0) return null
      bytes[n++] = hi * 16 + lo
      i += 2
    } else {
      bytes[n++] = c === 0x2b ? 0x20 : c
    }
  }
  try {
    return utf8.decode(bytes.subarray(0, n))
  } catch {
    return null
  }
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Encodes pairs back into a query string or form body (one spelling for each value). */
export function encodePairs(values: Iterable<[string, string]>): string {
  return new URLSearchParams([...values]).toString()
}

// ---------------------------------------------------------------------------------------------
// Bodies

export type BodyFormat = "json" | "form"

export type ParsedBody =
  { ok: true; format: BodyFormat; fields: Record<string, unknown> } | Ambiguity

const MEDIA_TYPE =
  /^(application\/json|application\/x-www-form-urlencoded)(?:[ \t]*;[ \t]*charset=("?)utf-8\2)?$/i

/**
 * The body format of a submission: exactly one Content-Type header naming exactly one of the two
 * media types Kratos decodes, with no parameter but `charset=utf-8`. A list
 * (`application/x-www-form-urlencoded, application/json`), a second header, another charset or
 * any other parameter has more than one reading and is refused (415).
 */
export function bodyFormat(req: IncomingMessage): BodyFormat | Ambiguity {
  const values = req.headersDistinct["content-type"] ?? []
  if (values.length !== 1) {
    return ambiguous(
      values.length === 0
        ? "a Content-Type header is required"
        : "send one Content-Type header, not several",
      415,
    )
  }
  const m = MEDIA_TYPE.exec(values[0]!.trim())
  if (!m) {
    return ambiguous(
      "expected Content-Type application/json or application/x-www-form-urlencoded (charset utf-8 only)",
      415,
    )
  }
  return m[1]!.toLowerCase() === "application/json" ? "json" : "form"
}

/**
 * Transfer and content codings the proxy can read unambiguously: none, or a chunked body (which
 * Node has already de-chunked). Anything else is refused.
 */
export function codingProblem(req: IncomingMessage): Ambiguity | null {
  if (req.headersDistinct["content-encoding"]) {
    return ambiguous("content codings are not accepted; send the body unencoded", 415)
  }
  const te = req.headersDistinct["transfer-encoding"]
  if (te && (te.length !== 1 || te[0]!.trim().toLowerCase() !== "chunked")) {
    return ambiguous("only the chunked transfer coding is accepted", 400)
  }
  return null
}

/**
 * The body as an object: JSON (one object; every string well-formed Unicode) or the form pairs.
 * The caller re-encodes this object for Kratos, so whatever this parser settled (a repeated JSON
 * key's last value, a form field's only value) is all Kratos ever sees.
 */
export function parseBody(format: BodyFormat, body: Buffer): ParsedBody {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    return ambiguous("the request body is not UTF-8")
  }
  if (format === "form") {
    const pairs = parsePairs(text, "form body")
    if (!pairs.ok) return pairs
    return { ok: true, format, fields: Object.fromEntries(pairs.values) }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return ambiguous("the request body is not valid JSON")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return ambiguous("the request body must be a JSON object")
  }
  if (!wellFormed(parsed)) return ambiguous("the request body has a string that is not Unicode")
  return { ok: true, format, fields: parsed as Record<string, unknown> }
}

/** A lone surrogate: in `u` mode a pair is one code point, so only lone halves match. */
const LONE_SURROGATE = /\p{Cs}/u

/** Lone surrogates (`"\ud800"`) become U+FFFD in Go: two spellings of one value. */
function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return !LONE_SURROGATE.test(value)
  if (Array.isArray(value)) return value.every(wellFormed)
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).every(([k, v]) => !LONE_SURROGATE.test(k) && wellFormed(v))
  }
  return true
}

/** Serialises a decided body in its own format. Form fields must be strings by then. */
export function encodeBody(format: BodyFormat, fields: Record<string, unknown>): Buffer {
  if (format === "json") return Buffer.from(JSON.stringify(fields), "utf8")
  const pairs: [string, string][] = []
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v !== "string") throw new Error(`form field ${k} is not a string`)
    pairs.push([k, v])
  }
  return Buffer.from(encodePairs(pairs), "utf8")
}

export const contentTypeOf = (format: BodyFormat): string =>
  format === "json" ? "application/json" : "application/x-www-form-urlencoded"

// ---------------------------------------------------------------------------------------------
// Session credentials and cookies

/** The cookies Kratos reads: its session, its CSRF cookie(s), its continuity container. */
const KRATOS_COOKIE = /^(ory_kratos_session|ory_kratos_continuity|csrf_token(_[A-Za-z0-9]+)?)$/
const SESSION_COOKIE = "ory_kratos_session"
/** Kratos's cookie values are base64 (securecookie); anything else is not one of its cookies. */
const COOKIE_VALUE = /^[A-Za-z0-9+/=_.-]*$/
const TOKEN = /^[A-Za-z0-9+/=_.~-]+$/

/** How the caller is identified to Kratos: one session token, or Kratos's cookies, or neither. */
export type Credential = { ok: true; token: string | null; cookies: [string, string][] } | Ambiguity

/**
 * The caller's session, read from every place Kratos reads one (`X-Session-Token`, its session
 * cookie, `Authorization: Bearer`; session/manager_http.go) and settled into one:
 * - `X-Session-Token` wins, as in Kratos; the session cookie and Authorization are then dropped;
 * - otherwise a Bearer token and a session cookie together are refused: Kratos would take the
 *   cookie when it decodes and fall back to the token when it doesn't, which the proxy can't
 *   tell;
 * - a header or Kratos cookie sent twice, or a value outside the token alphabet, is refused.
 * Cookies that are not Kratos's are not forwarded.
 *
 * `bearer: false` (the service's own API and the gate) leaves `Authorization` alone: an app
 * behind the gate may send its own bearer credential, which is neither Kratos's nor ours to
 * read, and must never be passed on to Kratos.
 */
export function sessionCredential(
  req: IncomingMessage,
  opts: { bearer: boolean } = { bearer: true },
): Credential {
  const h = req.headersDistinct
  const xToken = h["x-session-token"]
  if (xToken && xToken.length > 1) return ambiguous("send one X-Session-Token header")
  const auth = opts.bearer ? h.authorization : undefined
  if (auth && auth.length > 1) return ambiguous("send one Authorization header")
  let bearer: string | null = null
  if (auth) {
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(auth[0]!)
    if (m) bearer = m[1]!
  }
  const cookies: [string, string][] = []
  const seen = new Set<string>()
  for (const line of h.cookie ?? []) {
    for (const part of line.split(";")) {
      const p = part.trim()
      if (p === "") continue
      const eq = p.indexOf("=")
      const name = eq < 0 ? p : p.slice(0, eq).trim()
      if (!KRATOS_COOKIE.test(name)) continue
      let value = eq < 0 ? "" : p.slice(eq + 1).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
        value = value.slice(1, -1)
      if (seen.has(name)) return ambiguous(`the cookie ${name} is sent more than once`)
      if (!COOKIE_VALUE.test(value)) return ambiguous(`the cookie ${name} is malformed`)
      seen.add(name)
      cookies.push([name, value])
    }
  }
  const token = xToken?.[0]?.trim() || null
  if (token !== null) {
    if (!TOKEN.test(token)) return ambiguous("the session token is malformed")
    return { ok: true, token, cookies: cookies.filter(([n]) => n !== SESSION_COOKIE) }
  }
  if (bearer !== null) {
    if (seen.has(SESSION_COOKIE)) {
      return ambiguous("send the session either as a cookie or as a bearer token, not both")
    }
    if (!TOKEN.test(bearer)) return ambiguous("the bearer token is malformed")
    return { ok: true, token: bearer, cookies }
  }
  return { ok: true, token: null, cookies }
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/**
 * Go's `unicode.IsSpace`, which `strings.TrimSpace` trims: ASCII spaces, U+0085, U+00A0 and the
 * Unicode separators (Z*). JavaScript's `trim()` keeps U+0085 and trims U+FEFF, which Go keeps.
 */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g

/**
 * The key an identifier is counted under: Kratos matches it as `strings.ToLower(
 * strings.TrimSpace(…))` (persistence/sql/identity/persister_identity.go), so Go's White_Space
 * is trimmed and each code point lower-cased on its own (Unicode's simple case mapping).
 * JavaScript's `toLowerCase()` applies the full mapping with context (U+0130 becomes two code
 * points, a final Σ becomes ς), so it is applied per code point and U+0130 mapped as Go maps
 * it. Node's Unicode tables may be newer than Go's: a letter only Node lower-cases then shares a
 * key with its lower-case form, never the other way round (test/unit/identifier-normalization
 * checks every code point against Go).
 */
export function normalizeIdentifier(value: string): string {
  const trimmed = value.replace(GO_SPACE, "")
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(trimmed)) return trimmed.toLowerCase()
  let out = ""
  for (const ch of trimmed) {
    if (ch === "\u0130") {
      out += "i"
      continue
    }
    const lower = ch.toLowerCase()
    // Only U+0130 has an unconditional multi-code-point lowercase; guard anyway.
    out += [...lower].length === 1 ? lower : ch
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Flow ids

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A flow id in its canonical form (lowercase 8-4-4-4-12 hex), as Kratos writes it; else null. */
export function canonicalFlowId(raw: string | undefined): string | null {
  return raw !== undefined && CANONICAL_UUID.test(raw) ? raw : null
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 64)
}

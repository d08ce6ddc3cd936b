import { gzipSync } from "node:zlib"
import fc from "fast-check"

/**
 * Generators of request spellings for the differential suite: the same submission written the
 * ways a parser in front of Kratos could read differently from Kratos — path spellings,
 * Content-Type spellings and lists, repeated keys, session header placement, transfer and
 * content codings, identifier spellings. Each variant is sent as raw bytes (`listen().send`), so
 * nothing between the test and the service normalises it.
 */

export interface Variant {
  /** What was varied, for a failure message. */
  label: string
  method: string
  path: string
  headers: Record<string, string>
  /** Extra raw header lines (a header sent twice). */
  rawHeaders?: [string, string][]
  body?: Buffer
  chunked?: boolean
}

/** The ways to write `/self-service/<flow>` (only the first is the clean path). */
export function pathSpellings(path: string): fc.Arbitrary<{ label: string; path: string }> {
  const [, top = "", rest = ""] = /^\/([^/]+)\/(.*)$/.exec(path) ?? []
  const letter = rest.slice(0, 1)
  const spellings: [string, string][] = [
    ["clean", path],
    ["dot segment", `/${top}/./${rest}`],
    ["doubled slash", `/${top}//${rest}`],
    ["leading doubled slash", `//${top}/${rest}`],
    ["encoded dot", `/${top}/%2e/${rest}`],
    ["encoded dot upper", `/${top}/%2E/${rest}`],
    ["dot-dot from sessions", `/sessions/../${top}/${rest}`],
    ["encoded dot-dot", `/sessions/%2e%2e/${top}/${rest}`],
    ["encoded slash", `/${top}%2F${rest}`],
    ["encoded letter", `/${top}/%${letter.charCodeAt(0).toString(16)}${rest.slice(1)}`],
    ["upper case", `/${top.toUpperCase()}/${rest.toUpperCase()}`],
    ["mixed case", `/${top}/${rest.slice(0, 1).toUpperCase()}${rest.slice(1)}`],
    ["trailing slash", `${path}/`],
    ["semicolon parameter", `${path};x=1`],
    ["backslash", `/${top}\\${rest}`],
    ["double-encoded dot", `/${top}/%252e/${rest}`],
    ["absolute form", `http://localhost${path}`],
  ]
  return fc.constantFrom(...spellings).map(([label, p]) => ({ label, path: p }))
}

export type Format = "json" | "form"

/** A Content-Type spelling and the body format a lax reader would pick from it. */
export const contentTypes: fc.Arbitrary<{ label: string; value: string | null; twice?: string }> =
  fc.constantFrom(
    { label: "json", value: "application/json" },
    { label: "json utf-8", value: "application/json; charset=utf-8" },
    { label: "json upper", value: "Application/JSON" },
    { label: "json UTF-8 no space", value: "application/json;charset=UTF-8" },
    { label: "json quoted charset", value: 'application/json; charset="utf-8"' },
    { label: "form", value: "application/x-www-form-urlencoded" },
    { label: "form utf-8", value: "application/x-www-form-urlencoded;charset=utf-8" },
    {
      label: "list form, json",
      value: "application/x-www-form-urlencoded;charset=utf-8, application/json",
    },
    { label: "list json, form", value: "application/json, application/x-www-form-urlencoded" },
    { label: "list text, json", value: "text/plain, application/json" },
    { label: "json latin1", value: "application/json; charset=latin1" },
    { label: "json utf-16", value: "application/json; charset=utf-16" },
    { label: "json extra parameter", value: "application/json; boundary=x" },
    { label: "json suffix", value: "application/merge-patch+json" },
    { label: "text", value: "text/plain" },
    { label: "multipart", value: "multipart/form-data; boundary=x" },
    { label: "none", value: null },
    { label: "two headers", value: "application/x-www-form-urlencoded", twice: "application/json" },
  )

/** How the session token travels. */
export const sessionPlacements: fc.Arbitrary<{
  label: string
  headers: (token: string) => Record<string, string>
  raw?: (token: string) => [string, string][]
}> = fc.constantFrom(
  { label: "x-session-token", headers: (t: string) => ({ "x-session-token": t }) },
  { label: "bearer", headers: (t: string) => ({ authorization: `Bearer ${t}` }) },
  { label: "bearer lower case", headers: (t: string) => ({ authorization: `bearer ${t}` }) },
  {
    label: "token and bearer",
    headers: (t: string) => ({ "x-session-token": t, authorization: `Bearer ${t}` }),
  },
  {
    label: "token twice",
    headers: () => ({}),
    raw: (t: string) =>
      [
        ["X-Session-Token", t],
        ["X-Session-Token", "not-a-session"],
      ] as [string, string][],
  },
  {
    label: "bearer and a session cookie",
    headers: (t: string) => ({
      authorization: `Bearer ${t}`,
      cookie: "ory_kratos_session=MTY5OTk5OTk5OXxub3QtYS1zZXNzaW9ufA==",
    }),
  },
)

/** Transfer and content codings of the body. */
export const codings = fc.constantFrom(
  "length" as const,
  "chunked" as const,
  "gzip" as const,
  "identity-encoding" as const,
)

/** Go's `unicode.IsSpace` beyond ASCII, and look-alikes Go does not trim. */
const GO_SPACES = ["\u0085", "\u00a0", "\u1680", "\u2000", "\u2009", "\u200a", "\u2028", "\u3000"]
const NOT_GO_SPACES = ["\ufeff", "\u200b", "\u180e"]

/** A way to spell an identifier, as a function of the registered (lower-case ASCII) one. */
export interface IdentifierSpelling {
  label: string
  apply: (email: string) => string
}

/**
 * Spellings of an identifier (lower-case ASCII, containing `i` and `k`): case changes, Unicode
 * case look-alikes (U+0130 İ lower-cases to `i` in Go; U+212A KELVIN SIGN to `k`), and spaces
 * around it — some that Go trims, some it doesn't. Whether a spelling reaches the account is
 * asked of Kratos itself, never assumed.
 */
export const identifierSpellings: readonly IdentifierSpelling[] = (() => {
  const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  const around: { label: string; pre: string; post: string }[] = [
    { label: "", pre: "", post: "" },
    { label: " ascii spaces", pre: " \t", post: "\n " },
    ...GO_SPACES.map((c) => ({ label: ` ${hex(c)} around`, pre: c, post: c })),
    ...GO_SPACES.map((c) => ({ label: ` ${hex(c)} after`, pre: "", post: c })),
    ...NOT_GO_SPACES.map((c) => ({ label: ` ${hex(c)} after`, pre: "", post: c })),
  ]
  const cased: IdentifierSpelling[] = [
    { label: "as registered", apply: (e) => e },
    { label: "upper case", apply: (e) => e.toUpperCase() },
    { label: "first letter upper", apply: (e) => e.slice(0, 1).toUpperCase() + e.slice(1) },
    { label: "dotted capital I", apply: (e) => e.replace(/i/g, "\u0130") },
    { label: "kelvin sign", apply: (e) => e.replace(/k/g, "\u212a") },
    {
      label: "dotted capital I, upper",
      apply: (e) => e.toUpperCase().replace(/I/g, "\u0130"),
    },
  ]
  return cased.flatMap((c) =>
    around.map((a) => ({
      label: `${c.label}${a.label}`,
      apply: (e: string) => `${a.pre}${c.apply(e)}${a.post}`,
    })),
  )
})()

/** The fields as a body in a format, optionally with one key repeated (`dup`, written first). */
export function encode(format: Format, fields: [string, unknown][]): Buffer {
  if (format === "json") {
    // Written by hand so a key can appear twice, as bytes on the wire can.
    return Buffer.from(
      `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`,
    )
  }
  return Buffer.from(
    fields
      .map(
        ([k, v]) =>
          `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v))}`,
      )
      .join("&"),
  )
}

export interface Envelope {
  path: { label: string; path: string }
  contentType: { label: string; value: string | null; twice?: string }
  format: Format
  coding: "length" | "chunked" | "gzip" | "identity-encoding"
}

/** Path, Content-Type, body format (independent of the header) and coding. */
export function envelopes(path: string): fc.Arbitrary<Envelope> {
  return fc.record({
    path: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ label: "clean", path }) },
      {
        weight: 2,
        arbitrary: pathSpellings(path),
      },
    ),
    contentType: contentTypes,
    format: fc.constantFrom("json" as const, "form" as const),
    coding: fc.oneof(
      { weight: 4, arbitrary: fc.constant("length" as const) },
      { weight: 1, arbitrary: codings },
    ),
  })
}

/** A POST of `fields` in an envelope, with the query string given. */
export function build(
  env: Envelope,
  query: string,
  fields: [string, unknown][],
  headers: Record<string, string>,
  raw: [string, string][] = [],
): Variant {
  let body = encode(env.format, fields)
  const h: Record<string, string> = { ...headers }
  const rawHeaders: [string, string][] = [...raw]
  if (env.contentType.value !== null) rawHeaders.push(["Content-Type", env.contentType.value])
  if (env.contentType.twice) rawHeaders.push(["Content-Type", env.contentType.twice])
  if (env.coding === "gzip") {
    body = gzipSync(body)
    h["content-encoding"] = "gzip"
  }
  if (env.coding === "identity-encoding") h["content-encoding"] = "identity"
  return {
    label: `${env.path.label} / ${env.contentType.label} / ${env.format} body / ${env.coding}`,
    method: "POST",
    path: `${env.path.path}?${query}`,
    headers: h,
    rawHeaders,
    body,
    chunked: env.coding === "chunked",
  }
}

/** Whether an envelope is the one spelling the proxy forwards (for expectations on refusals). */
export function isCanonical(env: Envelope): boolean {
  const ct = env.contentType.value?.toLowerCase().replace(/\s/g, "") ?? ""
  const ctFormat = ct.startsWith("application/json")
    ? ct === "application/json" ||
      ct === "application/json;charset=utf-8" ||
      ct === 'application/json;charset="utf-8"'
      ? "json"
      : null
    : ct === "application/x-www-form-urlencoded" ||
        ct === "application/x-www-form-urlencoded;charset=utf-8"
      ? "form"
      : null
  return (
    env.path.label === "clean" &&
    !env.contentType.twice &&
    ctFormat === env.format &&
    (env.coding === "length" || env.coding === "chunked")
  )
}

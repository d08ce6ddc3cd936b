import http from "node:http"
import type { AddressInfo } from "node:net"
import type { Express } from "express"
import fc from "fast-check"
import postgres from "postgres"

/** Cases per route; `HOSTILE_RUNS` raises it for a longer local soak. */
export const RUNS_PER_ROUTE = Number(process.env.HOSTILE_RUNS ?? 1000)

/** A property run (and the shrinking of a failure) on a machine busy with other work. */
export const PROPERTY_TIMEOUT_MS = 600_000

/** `METHOD path` of every route the Express app (and its routers) declares. */
export function appRoutes(app: Express): string[] {
  const out: string[] = []
  type Layer = {
    route?: { path: string | RegExp; methods: Record<string, boolean> }
    handle?: { stack?: Layer[] }
  }
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) {
          if (m !== "_all") out.push(`${m.toUpperCase()} ${String(layer.route.path)}`)
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack)
    }
  }
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
  return out
}

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface RawRequest {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
}

/** The app on a loopback port, and a keep-alive client that sends exactly what it is given. */
export async function listen(app: Express) {
  const server = http.createServer(app)
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const { port } = server.address() as AddressInfo
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  const send = (req: RawRequest): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(req.body)
      const headers: Record<string, string> = { ...req.headers }
      if (body) headers["content-length"] = String(body.length)
      const r = http.request(
        { host: "127.0.0.1", port, method: req.method, path: req.path, headers, agent },
        (res) => {
          const chunks: Buffer[] = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          )
          res.on("error", reject)
        },
      )
      r.on("error", reject)
      r.end(body)
    })
  return {
    send,
    close: async () => {
      agent.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/**
 * Row count and a digest of every row of every table in the service's schema: two equal
 * snapshots mean nothing was inserted, updated or deleted in between.
 */
export async function dbSnapshot(databaseUrl: string): Promise<Record<string, string>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`
    const out: Record<string, string> = {}
    for (const { name } of tables) {
      const [row] = await sql.unsafe<{ n: number; digest: string | null }[]>(
        `select count(*)::int as n, md5(string_agg(t::text, '|' order by t::text)) as digest
         from "${name}" t`,
      )
      out[name] = `${row!.n}:${row!.digest ?? ""}`
    }
    return out
  } finally {
    await sql.end({ timeout: 2 })
  }
}

// ---------------------------------------------------------------------------------------------
// Generators of hostile input
// ---------------------------------------------------------------------------------------------

/** Strings that tend to break parsers, validators and path handling. */
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "undefined",
    "0",
    "-1",
    "1e309",
    "NaN",
    "true",
    "__proto__",
    "constructor",
    "../../etc/passwd",
    "%00",
    "\u0000",
    "'; drop table audit_events; --",
    "<script>alert(1)</script>",
    "${7*7}",
    "{{7*7}}",
    "\ud800",
    "𝕏".repeat(20),
    "00000000-0000-0000-0000-00000000000g",
    "ffffffff-ffff-ffff-ffff-ffffffffffff ",
  ),
  fc.integer({ min: 300, max: 5000 }).map((n) => "A".repeat(n)),
)

/** A JSON value of any shape, occasionally deeply nested. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map(nested) },
  { weight: 1, arbitrary: nastyString },
)

/** `{"a":{"a":…}}`, depth levels deep. */
export function nested(depth: number): unknown {
  let v: unknown = "x"
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v]
  return v
}

/** A value of a type the field most likely does not take. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 3 }),
  nastyString,
  fc.integer({ min: 10, max: 500 }).map(nested),
)

type Json = Record<string, unknown>

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [prefix]
  const entries = Object.entries(value as Json)
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))]
}

function setAt(obj: unknown, path: string[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? undefined : value
  const copy = { ...(obj as Json) }
  const [head, ...rest] = path
  if (rest.length === 0) {
    if (remove) delete copy[head!]
    else copy[head!] = value
  } else copy[head!] = setAt(copy[head!], rest, value, remove)
  return copy
}

/** A valid body with one to three fields removed, retyped or added. */
export function mutated(valid: Json): fc.Arbitrary<unknown> {
  const where = paths(valid).filter((p) => p.length > 0)
  const one = fc.oneof(
    fc.record({ kind: fc.constant("drop" as const), at: fc.constantFrom(...where) }),
    fc.record({
      kind: fc.constant("retype" as const),
      at: fc.constantFrom(...where),
      v: wrongValue,
    }),
    fc.record({
      kind: fc.constant("add" as const),
      at: fc.constantFrom(...where),
      key: fc.oneof(nastyString, fc.constantFrom("__proto__", "constructor", "prototype")),
      v: anyJson,
    }),
  )
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((ops) => {
    let body: unknown = valid
    for (const op of ops) {
      if (op.kind === "drop") body = setAt(body, op.at, undefined, true)
      else if (op.kind === "retype") body = setAt(body, op.at, op.v, false)
      else body = setAt(body, [...op.at.slice(0, -1), op.key], op.v, false)
    }
    return body
  })
}

export interface Payload {
  label: string
  contentType?: string
  contentEncoding?: string
  body?: string | Buffer
}

/**
 * A JSON payload whose text is made only when a request sends it: a case draws more bodies
 * than it sends (a spare for when it must fail).
 */
export function lazyJson(label: string, make: () => unknown): Payload {
  let text: string | undefined
  return {
    label,
    contentType: "application/json",
    get body() {
      return (text ??= JSON.stringify(make()) ?? "null")
    },
  }
}

const json = (label: string, v: unknown) => lazyJson(label, () => v)

/**
 * Bodies as an attacker sends them: mutated valid bodies, JSON of any shape, broken JSON,
 * bodies past the size limit, deep nesting, wrong content types and encodings, no body.
 * `candidate` is a body the route might accept (sent with a wrong content type or encoding).
 */
export function hostilePayload(
  mutations: fc.Arbitrary<unknown>,
  candidate: unknown,
): fc.Arbitrary<Payload> {
  const text = JSON.stringify(candidate)
  const isObject = candidate !== null && typeof candidate === "object" && !Array.isArray(candidate)
  const oversizedHead = !isObject || text === "{}" ? "{" : `${text.slice(0, -1)},`
  return (
    fc
      .oneof(
        { weight: 6, arbitrary: mutations.map((b) => json("mutated", b)) },
        { weight: 3, arbitrary: anyJson.map((b) => json("any json", b)) },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((n) => ({
            label: "truncated json",
            contentType: "application/json",
            body: text.slice(0, n),
          })),
        },
        {
          weight: 1,
          arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((s) => ({
            label: "garbage",
            contentType: "application/json",
            body: s,
          })),
        },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 66_000, max: 120_000 }).map((n) => ({
            label: "oversized",
            contentType: "application/json",
            // The candidate's text with a padding field: a concatenation, not a stringify of it.
            body: `${oversizedHead}"padding":"${"p".repeat(n)}"}`,
          })),
        },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 500, max: 5_000 }).map((d) => ({
            label: "deep nesting",
            contentType: "application/json",
            body: "[".repeat(d) + "]".repeat(d),
          })),
        },
        {
          weight: 2,
          arbitrary: fc
            .constantFrom(
              "text/plain",
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=x",
              "application/xml",
              "application/vnd.api+json",
              "application/json; charset=utf-16",
              "application/json; charset=latin1",
              "application/jsonp",
              "",
            )
            .map((ct) => ({
              label: `content type "${ct}"`,
              contentType: ct || undefined,
              body: text,
            })),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom("gzip", "deflate", "br", "compress", "x-unknown")
            .map((enc) => ({
              label: `content encoding ${enc}`,
              contentType: "application/json",
              contentEncoding: enc,
              body: text,
            })),
        },
        { weight: 1, arbitrary: fc.constant<Payload>({ label: "no body" }) },
        {
          weight: 1,
          arbitrary: fc.constant<Payload>({
            label: "empty json body",
            contentType: "application/json",
            body: "",
          }),
        },
      )
      // Added to the payload itself: a spread would make every lazy body's text now.
      .map((p) => Object.assign(p, { [fc.toStringMethod]: () => describePayload(p) }))
  )
}

/** A counterexample short enough to read: label, headers and the start of the body. */
function describePayload(p: Payload): string {
  const body = p.body === undefined ? "" : String(p.body)
  const shown = body.length > 200 ? `${body.slice(0, 200)}… (${body.length} bytes)` : body
  return `${p.label} [${p.contentType ?? "no content type"}${p.contentEncoding ? `, ${p.contentEncoding}` : ""}] ${shown}`
}

/** Each byte as it stands in a percent-encoded string: unreserved ones as they are. */
const ENCODED_BYTE = Array.from({ length: 256 }, (_, b) => {
  const c = String.fromCharCode(b)
  return /[A-Za-z0-9._~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
})

/**
 * Percent-encodes every byte but unreserved ones (lone surrogates become U+FFFD). By table:
 * the property suites encode megabytes of generated paths and queries.
 */
export function percentEncode(s: string): string {
  const bytes = Buffer.from(s, "utf8")
  const parts = new Array<string>(bytes.length)
  for (let i = 0; i < bytes.length; i++) parts[i] = ENCODED_BYTE[bytes[i]!]!
  return parts.join("")
}

/** Query strings of arbitrary keys and values, repeated keys and odd encodings. */
export const anyQuery = fc
  .array(
    fc.tuple(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("a[b]", "__proto__", "limit")),
      nastyString,
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&"))

/** Path segments that are no id: odd encodings, traversal, control characters, huge. */
export const badSegment = fc.oneof(
  nastyString.filter((s) => s.length > 0).map((s) => percentEncode(s).slice(0, 4000)),
  fc.constantFrom("%", "%zz", "%c0%af", "..", "%2e%2e", "a%2Fb", "%00", "%E0%A4%A"),
)

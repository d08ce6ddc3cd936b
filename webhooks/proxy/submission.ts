import { goParseQuery } from "./http-utils"

/**
 * A self-service form submission as Kratos will decode it (ory/x decoderx with
 * `HTTPDecoderJSONFollowsFormFormat`):
 * - urlencoded: Go's `ParseForm`; a string field takes the FIRST value, a boolean the LAST;
 * - JSON: top-level keys in document order, a repeated key's LAST value wins (as in
 *   `JSON.parse`); a non-string value is turned into its JSON text. Only the first JSON value
 *   is read by Go, trailing bytes are ignored — so anything `JSON.parse` refuses is refused here.
 *
 * The checks in this proxy look at every value a key has (not just the one Kratos picks), so a
 * repeated field can't smuggle a value past them.
 */
export interface Submission {
  readonly format: "json" | "form"
  /** Every value of a top-level field (form: all repetitions; JSON: the one value). */
  all(key: string): unknown[]
  /** The value Kratos decodes for a string field, when it is a string. */
  string(key: string): string | undefined
  /** Whether Kratos could read a boolean field as true (any value Go's ParseBool takes as true). */
  isTrue(key: string): boolean
  /** Every field as dotted name → value (nested JSON objects flattened, `traits.email`). */
  flat(): Map<string, unknown>
}

export type ParseResult = { ok: true; submission: Submission } | { ok: false; reason: string }

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"])

export function parseSubmission(format: "json" | "form", body: Buffer): ParseResult {
  const text = body.toString("utf8")
  if (format === "form") {
    const { values, ok } = goParseQuery(text)
    if (!ok)
      return { ok: false, reason: "the form body is not valid application/x-www-form-urlencoded" }
    return { ok: true, submission: formSubmission(values) }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false, reason: "the request body is not valid JSON" }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: "the request body must be a JSON object" }
  }
  return { ok: true, submission: jsonSubmission(parsed as Record<string, unknown>) }
}

function formSubmission(values: Map<string, string[]>): Submission {
  return {
    format: "form",
    all: (key) => values.get(key) ?? [],
    string: (key) => values.get(key)?.[0],
    isTrue: (key) => (values.get(key) ?? []).some((v) => GO_TRUE.has(v)),
    flat: () => new Map([...values].map(([k, v]) => [k, v[0]])),
  }
}

function jsonSubmission(obj: Record<string, unknown>): Submission {
  const has = (key: string) => Object.prototype.hasOwnProperty.call(obj, key)
  return {
    format: "json",
    all: (key) => (has(key) ? [obj[key]] : []),
    string: (key) => (has(key) && typeof obj[key] === "string" ? (obj[key] as string) : undefined),
    isTrue: (key) => has(key) && (obj[key] === true || GO_TRUE.has(String(obj[key]))),
    flat: () => {
      const out = new Map<string, unknown>()
      const walk = (prefix: string, value: unknown) => {
        if (typeof value === "object" && value !== null && !Array.isArray(value)) {
          for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v)
        } else {
          out.set(prefix, value)
        }
      }
      walk("", obj)
      return out
    },
  }
}

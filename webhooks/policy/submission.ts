import type { BodyFormat } from "../proxy/canonical"
import { normalizeIdentifier } from "../proxy/canonical"
import type { FlowKind } from "../kratos/public"
import {
  PASSWORD_POLICY_FAILED,
  PASSWORD_POLICY_PARAM,
  PASSWORD_POLICY_SSO_REQUIRED,
  SSO_PASSWORD_REFUSED,
  SSO_PASSWORD_TEXT,
} from "../proxy/refusals"
import { checkPassword } from "./password-rules"

/**
 * What the proxy does with a self-service submission, decided on the parsed body alone: which
 * Kratos strategy it addresses, which of our rules apply, and the exact body Kratos will get.
 *
 * Kratos hands a submission to the first strategy that says it is responsible (password,
 * profile, code, totp, passkey, webauthn, lookup_secret, in that order), and several of them
 * claim a submission from its fields rather than from `method` (a non-empty `webauthn_remove`,
 * `totp_unlink=true`…). So a submission must address exactly one strategy; the body forwarded
 * holds only that strategy's fields, with `method` set to it. Fields Kratos would ignore are
 * dropped, so there is nothing left that a second reader could act on.
 */

export interface UiText {
  id: number
  text: string
  type: "error" | "info" | "success"
  context: Record<string, unknown>
}

export const errorText = (
  id: number,
  text: string,
  context: Record<string, unknown> = {},
): UiText => ({ id, text, type: "error", context })

/** A settings intent no webhook can see (the body is not in a webhook's context). */
export interface SubmissionIntent {
  kind: "webauthn_remove" | "passkey_remove" | "lookup_secret_disable"
  detail: string | null
}

/** Whose guesses a login attempt counts against. */
export type ThrottleSubject =
  | { kind: "identifier"; value: string }
  /** The caller's session identity (second-factor codes). */
  | { kind: "session" }
  /** No account to count against (no identifier given): the IP limit alone. */
  | { kind: "none" }

export interface Refusal {
  /** Messages under the password input. */
  field?: UiText[]
  /** A flow-level message. */
  flow?: UiText
  /** Query parameter added to the UI URL for browser form posts. */
  param: [string, string]
}

export type Decision =
  /** The request is malformed or ambiguous: a plain 400 with the reason. */
  | { action: "reject"; reason: string }
  /** A rule says no: answered in the flow's own shape (proxy/guards.ts `refuse`). */
  | { action: "refuse"; refusal: Refusal; log: string }
  | {
      action: "forward"
      strategy: string
      /** The body Kratos gets, in the submission's own format. */
      fields: Record<string, unknown>
      intents: SubmissionIntent[]
      /** Set when this is a guessable login secret: count it. */
      throttle: ThrottleSubject | null
      /** Set for a settings password change that passed the rules: check it for reuse. */
      newPassword: string | null
    }

export interface SubmissionContext {
  flow: FlowKind
  format: BodyFormat
  /** The organisation signs in with SSO only (settings password changes are refused). */
  ssoRequired: boolean
}

type FieldKind = "string" | "bool" | "object"

interface Strategy {
  id: string
  /** Whether Kratos's strategy takes this submission (its own trigger, not only `method`). */
  claims: (f: Fields) => boolean
  fields: Record<string, FieldKind>
  /** Prefixes of nested fields sent flat by forms (`traits.email`). */
  nested?: readonly string[]
}

const COMMON: Record<string, FieldKind> = { csrf_token: "string", transient_payload: "object" }

const byMethod = (id: string) => (f: Fields) => f.string("method") === id

const STRATEGIES: Record<FlowKind, Strategy[]> = {
  settings: [
    { id: "password", claims: byMethod("password"), fields: { password: "string" } },
    {
      id: "profile",
      claims: byMethod("profile"),
      fields: { traits: "object" },
      nested: ["traits"],
    },
    {
      id: "totp",
      claims: (f) => f.isTrue("totp_unlink") || f.string("method") === "totp",
      fields: { totp_code: "string", totp_unlink: "bool" },
    },
    {
      id: "passkey",
      claims: (f) =>
        f.nonEmpty("passkey_settings_register") ||
        f.nonEmpty("passkey_remove") ||
        f.string("method") === "passkey",
      fields: { passkey_settings_register: "string", passkey_remove: "string" },
    },
    {
      id: "webauthn",
      claims: (f) =>
        f.nonEmpty("webauthn_register") ||
        f.nonEmpty("webauthn_remove") ||
        f.string("method") === "webauthn",
      fields: {
        webauthn_register: "string",
        webauthn_register_displayname: "string",
        webauthn_remove: "string",
      },
    },
    {
      id: "lookup_secret",
      claims: (f) =>
        ["lookup_secret_reveal", "lookup_secret_regenerate", "lookup_secret_confirm"].some((k) =>
          f.isTrue(k),
        ) ||
        f.isTrue("lookup_secret_disable") ||
        f.string("method") === "lookup_secret",
      fields: {
        lookup_secret_reveal: "bool",
        lookup_secret_regenerate: "bool",
        lookup_secret_confirm: "bool",
        lookup_secret_disable: "bool",
      },
    },
  ],
  registration: [
    {
      id: "password",
      claims: byMethod("password"),
      fields: { password: "string", traits: "object" },
      nested: ["traits"],
    },
    {
      id: "profile",
      claims: byMethod("profile"),
      fields: { traits: "object", screen: "string" },
      nested: ["traits"],
    },
    {
      id: "code",
      claims: byMethod("code"),
      fields: { traits: "object", code: "string", resend: "string" },
      nested: ["traits"],
    },
    {
      id: "passkey",
      claims: (f) => f.nonEmpty("passkey_register") || f.string("method") === "passkey",
      fields: { passkey_register: "string", traits: "object" },
      nested: ["traits"],
    },
    {
      id: "webauthn",
      claims: (f) => f.nonEmpty("webauthn_register") || f.string("method") === "webauthn",
      fields: {
        webauthn_register: "string",
        webauthn_register_displayname: "string",
        traits: "object",
      },
      nested: ["traits"],
    },
  ],
  login: [
    {
      id: "password",
      claims: byMethod("password"),
      fields: { identifier: "string", password_identifier: "string", password: "string" },
    },
    {
      id: "code",
      claims: byMethod("code"),
      fields: { identifier: "string", code: "string", address: "string", resend: "string" },
    },
    { id: "totp", claims: byMethod("totp"), fields: { totp_code: "string" } },
    {
      id: "passkey",
      claims: (f) => f.nonEmpty("passkey_login") || f.string("method") === "passkey",
      fields: { passkey_login: "string" },
    },
    {
      id: "webauthn",
      claims: (f) => f.nonEmpty("webauthn_login") || f.string("method") === "webauthn",
      fields: { identifier: "string", webauthn_login: "string" },
    },
    { id: "lookup_secret", claims: byMethod("lookup_secret"), fields: { lookup_secret: "string" } },
  ],
  // A non-empty code makes Kratos's code strategy take the submission whatever `method` says.
  recovery: [
    {
      id: "code",
      claims: (f) => f.string("method") === "code" || f.nonEmpty("code"),
      fields: { email: "string", code: "string" },
    },
  ],
  verification: [
    {
      id: "code",
      claims: (f) => f.string("method") === "code" || f.nonEmpty("code"),
      fields: { email: "string", code: "string" },
    },
  ],
}

/** Go's `strconv.ParseBool`, which Kratos's form decoder applies to boolean fields. */
const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"])
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"])

interface Fields {
  string(key: string): string | undefined
  nonEmpty(key: string): boolean
  isTrue(key: string): boolean
}

function view(raw: Record<string, unknown>): Fields {
  const own = (k: string) => (Object.hasOwn(raw, k) ? raw[k] : undefined)
  return {
    string: (k) => {
      const v = own(k)
      return typeof v === "string" ? v : undefined
    },
    nonEmpty: (k) => {
      const v = own(k)
      return typeof v === "string" ? v !== "" : v !== undefined && v !== null
    },
    isTrue: (k) => {
      const v = own(k)
      return v === true || (typeof v === "string" && GO_TRUE.has(v))
    },
  }
}

/**
 * Decides a self-service submission (its fields as parsed by `parseBody`). Pure: everything it
 * needs from outside is in `ctx`; the reuse check and the throttle, which need a database or
 * Kratos, are asked for in the result.
 */
export function decideSubmission(raw: Record<string, unknown>, ctx: SubmissionContext): Decision {
  const f = view(raw)
  const claiming = STRATEGIES[ctx.flow].filter((s) => s.claims(f))
  if (claiming.length === 0) {
    const method = f.string("method")
    return {
      action: "reject",
      reason: method
        ? `the ${ctx.flow} method "${method.slice(0, 40)}" is not offered`
        : `the submission names no ${ctx.flow} method`,
    }
  }
  if (claiming.length > 1) {
    return {
      action: "reject",
      reason: `the submission addresses several methods at once (${claiming.map((s) => s.id).join(", ")}); send one`,
    }
  }
  const strategy = claiming[0]!
  const built = buildFields(raw, strategy, ctx.format)
  if (typeof built === "string") return { action: "reject", reason: built }
  const fields = built

  let newPassword: string | null = null
  if (strategy.id === "password" && (ctx.flow === "settings" || ctx.flow === "registration")) {
    if (ctx.flow === "settings" && ctx.ssoRequired) {
      return {
        action: "refuse",
        log: "password submission refused: sso_required",
        refusal: {
          field: [errorText(SSO_PASSWORD_REFUSED, SSO_PASSWORD_TEXT)],
          param: [PASSWORD_POLICY_PARAM, PASSWORD_POLICY_SSO_REQUIRED],
        },
      }
    }
    // Without a password Kratos answers "required" itself.
    const password = typeof fields.password === "string" ? fields.password : undefined
    if (password !== undefined && password !== "") {
      const failing = checkPassword(password)
      if (failing.length > 0) {
        return {
          action: "refuse",
          log: "password submission refused by the password policy",
          refusal: {
            field: failing.map((r) => errorText(r.id, r.text)),
            param: [PASSWORD_POLICY_PARAM, PASSWORD_POLICY_FAILED],
          },
        }
      }
      if (ctx.flow === "settings") newPassword = password
    }
  }

  let throttle: ThrottleSubject | null = null
  if (ctx.flow === "login") {
    if (strategy.id === "password") {
      // Kratos looks the account up by `identifier`, else the legacy `password_identifier`, and
      // matches it lower-cased and trimmed; the guess counts against that same key.
      const given = f.string("identifier") || f.string("password_identifier") || ""
      const identifier = normalizeIdentifier(given)
      throttle = identifier ? { kind: "identifier", value: identifier } : { kind: "none" }
    } else if (strategy.id === "totp" || strategy.id === "lookup_secret") {
      throttle = { kind: "session" }
    }
  }

  const intents: SubmissionIntent[] = []
  if (ctx.flow === "settings") {
    const remove = (k: string) =>
      typeof fields[k] === "string" && fields[k] !== "" ? (fields[k] as string) : null
    const webauthn = remove("webauthn_remove")
    if (strategy.id === "webauthn" && webauthn) {
      intents.push({ kind: "webauthn_remove", detail: webauthn.slice(0, 1024) })
    }
    const passkey = remove("passkey_remove")
    if (strategy.id === "passkey" && passkey) {
      intents.push({ kind: "passkey_remove", detail: passkey.slice(0, 1024) })
    }
    if (strategy.id === "lookup_secret" && isTrueValue(fields.lookup_secret_disable)) {
      intents.push({ kind: "lookup_secret_disable", detail: null })
    }
  }

  return { action: "forward", strategy: strategy.id, fields, intents, throttle, newPassword }
}

const isTrueValue = (v: unknown) => v === true || v === "true"

/**
 * The strategy's fields, each of its declared kind, booleans in one spelling (`true` in JSON,
 * "true" in a form; false ones dropped), and `method` set to the strategy. A string message
 * when a field has the wrong type.
 */
function buildFields(
  raw: Record<string, unknown>,
  strategy: Strategy,
  format: BodyFormat,
): Record<string, unknown> | string {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  const declared: Record<string, FieldKind> = { ...COMMON, ...strategy.fields }
  for (const [key, kind] of Object.entries(declared)) {
    if (!Object.hasOwn(raw, key)) continue
    const v = raw[key]
    if (kind === "string") {
      if (typeof v !== "string") return `"${key}" must be a string`
      out[key] = v
    } else if (kind === "bool") {
      const b = v === true || (typeof v === "string" && GO_TRUE.has(v))
      if (!b && v !== false && !(typeof v === "string" && GO_FALSE.has(v))) {
        return `"${key}" must be true or false`
      }
      if (b) out[key] = format === "json" ? true : "true"
    } else {
      // Objects (traits, transient_payload): a JSON object, or in a form a JSON text Kratos
      // parses itself; either way they carry nothing our rules read.
      if (format === "json" ? !isPlainObject(v) : typeof v !== "string") {
        return `"${key}" must be an object`
      }
      out[key] = v
    }
  }
  for (const prefix of strategy.nested ?? []) {
    const dotted = Object.keys(raw).filter((k) => k.startsWith(`${prefix}.`))
    if (dotted.length === 0) continue
    if (Object.hasOwn(out, prefix))
      return `send "${prefix}" either as an object or as ${prefix}.* fields`
    for (const k of dotted) {
      const v = raw[k]
      if (format === "form" ? typeof v !== "string" : typeof v === "object" && v !== null) {
        return `"${k.slice(0, 60)}" must be a plain value`
      }
      out[k] = v
    }
  }
  out.method = strategy.id
  return { ...out }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

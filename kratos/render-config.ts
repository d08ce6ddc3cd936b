import { readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import { parse, stringify } from "yaml"

/**
 * Fills `${NAME}` placeholders in kratos/kratos.yml from an environment.
 *
 * Kratos reads scalar keys from its own environment variables, but not values inside hook
 * lists (webhook URLs, the API key) or secret arrays, so those are rendered here. A string that
 * is exactly one placeholder takes the type of its value (`12` → number, `true` → boolean), so
 * the template stays valid YAML and Kratos's JSON-schema validation sees the right types.
 */
export const KRATOS_TEMPLATE = path.join(__dirname, "kratos.yml")

const defaults: Record<string, string> = {
  KRATOS_CONFIG_DIR: __dirname,
  KRATOS_BCRYPT_COST: "12",
  KRATOS_HIBP_ENABLED: "false",
  KRATOS_PRIVILEGED_SESSION_MAX_AGE: "15m",
  KRATOS_LOG_LEVEL: "info",
  TOTP_ISSUER: "kratos-guard",
  MAIL_FROM: "security@kratos-guard.local",
}

export type RenderEnv = Record<string, string | undefined>

export function renderKratosConfig(env: RenderEnv, templatePath = KRATOS_TEMPLATE): string {
  const values = { ...defaults, ...withDerived(env) }
  const missing = new Set<string>()
  const doc: unknown = parse(readFileSync(templatePath, "utf8"), { merge: true })

  const fill = (value: unknown): unknown => {
    if (typeof value === "string") return substitute(value, values, missing)
    if (Array.isArray(value)) return value.map(fill)
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]))
    }
    return value
  }
  const rendered = fill(doc)
  if (missing.size > 0) {
    throw new Error(
      `Kratos config: missing environment variables: ${[...missing].sort().join(", ")}`,
    )
  }
  return stringify(rendered, { aliasDuplicateObjects: false })
}

function withDerived(env: RenderEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") out[k] = v
  if (out.PUBLIC_URL) {
    out.PUBLIC_URL = out.PUBLIC_URL.replace(/\/+$/, "")
    out.WEBAUTHN_RP_ID ??= new URL(out.PUBLIC_URL).hostname
  }
  if (out.KRATOS_ADMIN_URL) out.KRATOS_ADMIN_URL = out.KRATOS_ADMIN_URL.replace(/\/+$/, "")
  if (out.HOOKS_URL) out.HOOKS_URL = out.HOOKS_URL.replace(/\/+$/, "")
  return out
}

function substitute(input: string, values: Record<string, string>, missing: Set<string>): unknown {
  const whole = /^\$\{([A-Z0-9_]+)\}$/.exec(input)
  if (whole) {
    const value = values[whole[1]!]
    if (value === undefined) {
      missing.add(whole[1]!)
      return input
    }
    if (value === "true" || value === "false") return value === "true"
    if (/^-?\d+$/.test(value)) return Number(value)
    return value
  }
  return input.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
    const value = values[name]
    if (value === undefined) {
      missing.add(name)
      return ""
    }
    return value
  })
}

/** CLI: `tsx kratos/render-config.ts <output-file>` renders from process.env. */
if (require.main === module) {
  const out = process.argv[2]
  try {
    const yaml = renderKratosConfig(process.env)
    if (out) writeFileSync(out, yaml, { mode: 0o600 })
    else process.stdout.write(yaml)
  } catch (err) {
    console.error((err as Error).message)
    process.exit(1)
  }
}

import { randomBytes } from "node:crypto"

/**
 * The compose test's throw-away `.env`: `.env.example` with every "change me" secret replaced
 * by a fresh random one (hex, as the example asks) and the given settings, in the example's
 * order; a setting the example lacks is appended.
 */
export function composeEnvFile(example: string, settings: Record<string, string>): string {
  const fresh: Record<string, () => string> = {
    KRATOS_SECRET_CIPHER: () => randomBytes(16).toString("hex"),
  }
  const seen = new Set<string>()
  const lines = example.split("\n").map((line) => {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (!m) return line
    const [, name, value] = m as unknown as [string, string, string]
    seen.add(name)
    if (name in settings) return `${name}=${settings[name]}`
    if (value.startsWith("change-me")) {
      return `${name}=${(fresh[name] ?? (() => randomBytes(32).toString("hex")))()}`
    }
    return line
  })
  for (const [name, value] of Object.entries(settings)) {
    if (!seen.has(name)) lines.push(`${name}=${value}`)
  }
  return lines.join("\n")
}

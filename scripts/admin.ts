import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { hookAuthorization } from "../webhooks/middleware/hook-auth"

const USAGE =
  "usage: npm run admin -- grant <email> <member|admin|super_admin> [--assigned-at <ISO time in the past>]"

/**
 * The running service's URL: SERVICE_URL, else the local stack on the port `npm start` uses
 * (PORT, default 4455), so the CLI finds a stack started with another port.
 */
export function serviceUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.SERVICE_URL || `http://127.0.0.1:${env.PORT || 4455}`).replace(/\/+$/, "")
}

export class AdminCliError extends Error {}

export interface GrantResult {
  identity_id: string
  email: string
  previous: string
  role: string
  changed: boolean
}

/**
 * Sets a role through the running service's operator route, audited with actor `system`.
 * `assignedAt` (a time in the past) is when the person really became it, e.g. when moving
 * people over from another directory: their 2FA grace period runs from then.
 */
export async function grantRole(o: {
  serviceUrl: string
  apiKey: string
  email: string
  role: string
  assignedAt?: string
}): Promise<GrantResult> {
  const res = await fetch(`${o.serviceUrl}/internal/roles`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "kratos-guard admin CLI",
      authorization: hookAuthorization(o.apiKey),
    },
    body: JSON.stringify({
      email: o.email,
      role: o.role,
      ...(o.assignedAt ? { assigned_at: o.assignedAt } : {}),
    }),
  }).catch((err: Error) => {
    throw new AdminCliError(
      `can't reach the service at ${o.serviceUrl} (${err.message}); is it running?`,
    )
  })
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (!res.ok) {
    const message = (body.error as { message?: string } | undefined)?.message ?? res.statusText
    throw new AdminCliError(`refused (${res.status}): ${message}`)
  }
  return body as unknown as GrantResult
}

/** The key Kratos sends on its hooks: KRATOS_WEBHOOK_API_KEY, else the local dev secret. */
export function operatorApiKey(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KRATOS_WEBHOOK_API_KEY) return env.KRATOS_WEBHOOK_API_KEY
  const dev = path.join(__dirname, "..", ".data", "dev-secrets.json")
  if (existsSync(dev))
    return (JSON.parse(readFileSync(dev, "utf8")) as { webhookApiKey: string }).webhookApiKey
  throw new AdminCliError("set KRATOS_WEBHOOK_API_KEY (the same value Kratos uses)")
}

/** `npm run admin -- grant …`: bootstrap of the first super admin, and other operator grants. */
async function main(argv: string[]): Promise<void> {
  const [command, email, role, ...rest] = argv
  const flag = rest.indexOf("--assigned-at")
  const assignedAt = flag >= 0 ? rest[flag + 1] : undefined
  const unknown = rest.filter((a, i) => i !== flag && i !== flag + 1)
  if (command !== "grant" || !email || !role || (flag >= 0 && !assignedAt) || unknown.length) {
    console.error(USAGE)
    process.exit(2)
  }
  try {
    const url = serviceUrl()
    const result = await grantRole({
      serviceUrl: url,
      apiKey: operatorApiKey(),
      email,
      role,
      assignedAt,
    })
    console.log(
      result.changed
        ? `${email} is now ${role} (was ${result.previous})`
        : `${email} already has role ${role}`,
    )
  } catch (err) {
    if (!(err instanceof AdminCliError)) throw err
    console.error(err.message)
    process.exit(1)
  }
}

if (require.main === module) void main(process.argv.slice(2))

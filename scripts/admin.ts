import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { hookAuthorization } from "../webhooks/middleware/hook-auth"

/**
 * `npm run admin -- grant <email> <member|admin|super_admin>`: sets a role through the running
 * service (bootstrap of the first super admin). Reads SERVICE_URL (default the local
 * `npm start` URL) and KRATOS_WEBHOOK_API_KEY (default: the local dev secret in .data/).
 */
async function main(): Promise<void> {
  const [command, email, role] = process.argv.slice(2)
  if (command !== "grant" || !email || !role) {
    console.error("usage: npm run admin -- grant <email> <member|admin|super_admin>")
    process.exit(2)
  }
  const url = (process.env.SERVICE_URL ?? "http://127.0.0.1:4455").replace(/\/+$/, "")
  const res = await fetch(`${url}/internal/roles`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: hookAuthorization(apiKey()) },
    body: JSON.stringify({ email, role }),
  }).catch((err: Error) => {
    console.error(`can't reach the service at ${url} (${err.message}); is it running?`)
    process.exit(1)
  })
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (!res.ok) {
    const message = (body.error as { message?: string } | undefined)?.message ?? res.statusText
    console.error(`refused (${res.status}): ${message}`)
    process.exit(1)
  }
  console.log(
    body.changed
      ? `${email} is now ${role} (was ${String(body.previous)})`
      : `${email} already has role ${role}`,
  )
}

function apiKey(): string {
  if (process.env.KRATOS_WEBHOOK_API_KEY) return process.env.KRATOS_WEBHOOK_API_KEY
  const dev = path.join(__dirname, "..", ".data", "dev-secrets.json")
  if (existsSync(dev))
    return (JSON.parse(readFileSync(dev, "utf8")) as { webhookApiKey: string }).webhookApiKey
  console.error("set KRATOS_WEBHOOK_API_KEY (the same value Kratos uses)")
  process.exit(2)
}

void main()

import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { AdminCliError, operatorApiKey, serviceUrl } from "./admin"
import {
  currentCode,
  DemoError,
  demoRefusal,
  formatDemo,
  seedDemo,
  type DemoTenant,
} from "./demo-tenant"
import { ROOT } from "./stack"

/**
 * `npm run demo`: seeds the Acme Financial Group tenant into the running local stack (the one
 * `npm start` runs; SERVICE_URL or PORT say where) and prints its accounts.
 * `npm run demo -- code`: a fresh authenticator code for the demo super admin.
 */
export const DEMO_STATE_FILE = path.join(ROOT, ".data", "demo.json")

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "code") {
    if (!existsSync(DEMO_STATE_FILE)) fail("no demo tenant yet: run `npm start -- --demo` first", 1)
    const tenant = JSON.parse(readFileSync(DEMO_STATE_FILE, "utf8")) as DemoTenant
    const { code, secondsLeft } = currentCode(tenant.totpSecret)
    console.log(`${code}  (${secondsLeft} s left)`)
    return
  }
  if (argv.length > 0) fail("usage: npm run demo [-- code]", 2)
  const url = serviceUrl()
  const refusal = demoRefusal(process.env, url)
  if (refusal) fail(`npm run demo refused: ${refusal}`, 2)
  try {
    const { tenant, fresh } = await seedDemo({
      serviceUrl: url,
      apiKey: operatorApiKey(),
      stateFile: DEMO_STATE_FILE,
      log: (line) => console.log(line),
    })
    console.log(formatDemo(tenant, fresh))
  } catch (err) {
    if (err instanceof DemoError || err instanceof AdminCliError)
      fail(`npm run demo failed: ${err.message}`, 1)
    throw err
  }
}

function fail(message: string, code: number): never {
  console.error(message)
  process.exit(code)
}

if (require.main === module) void main(process.argv.slice(2))

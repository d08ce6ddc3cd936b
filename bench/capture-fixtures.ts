import { mkdirSync, writeFileSync } from "node:fs"
import path from "node:path"
import postgres from "postgres"
import { ROOT } from "../scripts/stack"
import { enrolTotp, loginPassword, submitSettings } from "../test/harness/flows"
import { registerNative } from "../test/harness/kratos"
import { sleep } from "./lib"
import { startBenchStack } from "./stack"

/**
 * Records the webhook payloads the real jsonnet templates produce, for the webhook benchmark
 * (`npm run bench` reads them from bench/fixtures/hooks/). Runs a registration, a password
 * login, a TOTP enrolment and a password change through real Kratos; the service stores every
 * delivery as it arrived (hook_deliveries), and the newest one per hook is written out with
 * ids and the e-mail address replaced by placeholders. The templates forward no secrets and
 * no cookies; a check below refuses to write a payload that looks like it holds one.
 *
 *   npx tsx bench/capture-fixtures.ts
 */
export const PLACEHOLDERS = {
  identity: "11111111-1111-4111-8111-111111111111",
  flow: "22222222-2222-4222-8222-222222222222",
  session: "33333333-3333-4333-8333-333333333333",
  email: "bench-user@example.com",
}

export const FIXTURE_DIR = path.join(ROOT, "bench", "fixtures", "hooks")

/** Keys that would carry a secret if a template ever forwarded one. */
const SECRET_KEYS =
  /"(password|hashed_password|totp_url|totp_secret_key|secret|cookies?|session_token|recovery_codes|lookup_secret_codes)"\s*:/i

const HOOKS = [
  "registration.password.pre",
  "registration.password.post",
  "login.password",
  "settings.totp.pre",
  "settings.totp.post",
  "settings.password.pre",
  "settings.password.post",
]

async function main(): Promise<void> {
  const p = await startBenchStack()
  const sql = postgres(p.serviceDatabaseUrl, { max: 1, onnotice: () => {} })
  try {
    const user = await registerNative()
    await loginPassword(user.email)
    await enrolTotp(user.sessionToken)
    const changed = await submitSettings(user.sessionToken, {
      method: "password",
      password: "Another-Bench-Password-7!",
    })
    if (changed.status !== 200) throw new Error(`password change answered ${changed.status}`)
    await sleep(1000) // post-persist hooks are not awaited by Kratos

    mkdirSync(FIXTURE_DIR, { recursive: true })
    for (const hook of HOOKS) {
      const [row] = await sql<{ payload: unknown }[]>`
        select payload from hook_deliveries where hook = ${hook} order by id desc limit 1`
      if (!row) throw new Error(`no ${hook} delivery was recorded`)
      const raw = JSON.stringify(row.payload)
      const ids = new Map<string, string>([
        [user.identityId, PLACEHOLDERS.identity],
        [user.email, PLACEHOLDERS.email],
      ])
      const body = row.payload as { flow_id?: string; session?: { id?: string } | null }
      if (body.flow_id) ids.set(body.flow_id, PLACEHOLDERS.flow)
      if (body.session?.id) ids.set(body.session.id, PLACEHOLDERS.session)
      let text = raw
      for (const [from, to] of ids) text = text.split(from).join(to)
      if (SECRET_KEYS.test(text)) {
        throw new Error(`${hook}: payload looks like it holds a secret; not written`)
      }
      const file = path.join(FIXTURE_DIR, `${hook}.json`)
      writeFileSync(file, `${JSON.stringify(JSON.parse(text), null, 2)}\n`)
      console.log(`wrote ${path.relative(ROOT, file)}`)
    }
  } finally {
    await sql.end()
    await p.stop()
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}

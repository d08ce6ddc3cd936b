import { mkdirSync, writeFileSync } from "node:fs"
import path from "node:path"
import { Configuration, FrontendApi } from "@ory/client"
import { generateSync } from "otplib"
import { ROOT } from "../scripts/stack"
import { startPrivateStack } from "../test/harness/private-stack"
import { node } from "../test/harness/flows"
import { registerNative } from "../test/harness/kratos"
import { withoutSettingsWebhooks } from "../test/harness/kratos-config"

/**
 * What kratos-guard's webhooks add to a settings submit: the same changes through real Kratos
 * with our hooks and with a Kratos config that has none, measured in the same run.
 * Password changes (bcrypt cost 4) and TOTP link/unlink, N submits each.
 */
const N = Number(process.env.BENCH_SUBMITS ?? 200)

type Stack = Awaited<ReturnType<typeof startPrivateStack>>

async function measure(p: Stack, label: string) {
  const frontend = new FrontendApi(new Configuration({ basePath: p.urls.publicUrl }))
  const user = await registerNative(undefined, undefined, p.urls)
  const token = user.sessionToken
  const submit = async (body: Record<string, unknown>, flowId: string) => {
    const t0 = process.hrtime.bigint()
    const res = await frontend.updateSettingsFlow({
      flow: flowId,
      xSessionToken: token,
      updateSettingsFlowBody: body as never,
    })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (res.status !== 200) throw new Error(`${label}: settings submit answered ${res.status}`)
    return ms
  }
  const password: number[] = []
  const totp: number[] = []
  for (let i = 0; i < N; i++) {
    const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
    password.push(
      await submit({ method: "password", password: `Bench-Password-${i}-Zq!x` }, flow.id),
    )
  }
  for (let i = 0; i < N; i++) {
    const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token })
    const secretNode = node(flow, "totp_secret_key")
    if (secretNode) {
      const secret = (secretNode.attributes as { text?: { text?: string } }).text!.text!
      totp.push(await submit({ method: "totp", totp_code: generateSync({ secret }) }, flow.id))
    } else {
      totp.push(await submit({ method: "totp", totp_unlink: true }, flow.id))
    }
  }
  return { password: stats(password), totp: stats(totp) }
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
  return {
    n: s.length,
    p50: round(q(0.5)),
    p99: round(q(0.99)),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  }
}
const round = (x: number) => Math.round(x * 100) / 100

async function main() {
  const env = {
    PASSWORD_CHANGES_PER_HOUR: "1000",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
  }
  const withHooks = await startPrivateStack({ env })
  const withoutHooks = await startPrivateStack({
    env,
    // The same Kratos with every kratos-guard web_hook removed from the settings methods.
    mutateKratosConfig: withoutSettingsWebhooks,
  })
  try {
    // Warm both up, then measure the baseline first and ours second, same machine, same run.
    const base = await measure(withoutHooks, "without hooks")
    const ours = await measure(withHooks, "with hooks")
    const result = {
      submits: N,
      baseline: base,
      with_hooks: ours,
      ratio_p50: {
        password: round(ours.password.p50 / base.password.p50),
        totp: round(ours.totp.p50 / base.totp.p50),
      },
      added_ms: {
        password: {
          p50: round(ours.password.p50 - base.password.p50),
          p99: round(ours.password.p99 - base.password.p99),
        },
        totp: {
          p50: round(ours.totp.p50 - base.totp.p50),
          p99: round(ours.totp.p99 - base.totp.p99),
        },
      },
    }
    console.log(JSON.stringify(result, null, 2))
    const out = path.join(ROOT, "bench", "results")
    mkdirSync(out, { recursive: true })
    writeFileSync(path.join(out, "hook-overhead.json"), JSON.stringify(result, null, 2))
  } finally {
    await withHooks.stop()
    await withoutHooks.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

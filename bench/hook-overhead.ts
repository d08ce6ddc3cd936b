import http from "node:http"
import type { AddressInfo } from "node:net"
import { Configuration, FrontendApi } from "@ory/client"
import { generateSync } from "otplib"
import { node } from "../test/harness/flows"
import { registerNative } from "../test/harness/kratos"
import { settingsWebhooksTo, withoutSettingsWebhooks } from "../test/harness/kratos-config"
import { figure, printFigure, round, stats, type Figure, type Stats } from "./lib"
import { startBenchStack, type BenchStack } from "./stack"

/**
 * Benchmark 1: what kratos-guard's webhooks add to a settings submit. The same changes go
 * through real Kratos with our hooks and through a second stack whose Kratos config has none
 * (both behind the service's proxy, bcrypt cost 4), SUBMITS of each kind on each stack. The
 * two stacks take turns submit by submit, so a change in the machine's load hits both alike.
 * Only the submit is timed (not the flow creation before it).
 */
const BENCH = "1 hook overhead"
const SUBMITS = Number(process.env.BENCH_SUBMITS ?? 200)

interface Side {
  label: string
  frontend: FrontendApi
  token: string
  password: number[]
  totp: number[]
}

async function side(p: BenchStack, label: string): Promise<Side> {
  const frontend = new FrontendApi(new Configuration({ basePath: p.urls.publicUrl }))
  const user = await registerNative(undefined, undefined, p.urls)
  return { label, frontend, token: user.sessionToken, password: [], totp: [] }
}

async function submit(s: Side, body: Record<string, unknown>, flowId: string): Promise<number> {
  const t0 = performance.now()
  const res = await s.frontend.updateSettingsFlow({
    flow: flowId,
    xSessionToken: s.token,
    updateSettingsFlowBody: body as never,
  })
  const ms = performance.now() - t0
  if (res.status !== 200) throw new Error(`${s.label}: settings submit answered ${res.status}`)
  return ms
}

async function passwordChange(s: Side, i: number): Promise<void> {
  const { data: flow } = await s.frontend.createNativeSettingsFlow({ xSessionToken: s.token })
  s.password.push(
    await submit(s, { method: "password", password: `Bench-Password-${i}-Zq!x` }, flow.id),
  )
}

/** Links TOTP when the account has none, unlinks it when it has. */
async function totpToggle(s: Side): Promise<void> {
  const { data: flow } = await s.frontend.createNativeSettingsFlow({ xSessionToken: s.token })
  const secretNode = node(flow, "totp_secret_key")
  if (secretNode) {
    const secret = (secretNode.attributes as { text?: { text?: string } }).text!.text!
    s.totp.push(await submit(s, { method: "totp", totp_code: generateSync({ secret }) }, flow.id))
  } else {
    s.totp.push(await submit(s, { method: "totp", totp_unlink: true }, flow.id))
  }
}

export async function runHookOverhead(
  withHooks: BenchStack,
  withoutHooks: BenchStack,
  bareHooks?: BenchStack,
) {
  const ours = await side(withHooks, "with hooks")
  const base = await side(withoutHooks, "without hooks")
  const floor = bareHooks ? await side(bareHooks, "bare hooks") : null
  const sides = floor ? [base, floor, ours] : [base, ours]
  // Warm-up (not counted): a few of each on every stack.
  for (let i = 0; i < 5; i++) {
    for (const s of sides) {
      await passwordChange(s, -1 - i)
      await totpToggle(s)
    }
  }
  for (const s of sides) {
    s.password.length = 0
    s.totp.length = 0
  }
  // The stacks take turns, and the order turns too, so none always follows another's submit.
  const turn = (i: number) => sides.map((_, k) => sides[(i + k) % sides.length]!)
  for (let i = 0; i < SUBMITS; i++) for (const s of turn(i)) await passwordChange(s, i)
  for (let i = 0; i < SUBMITS; i++) for (const s of turn(i)) await totpToggle(s)
  const result = {
    submits: SUBMITS,
    without_hooks: { password: stats(base.password), totp: stats(base.totp) },
    with_hooks: { password: stats(ours.password), totp: stats(ours.totp) },
    ...(floor ? { bare_hooks: { password: stats(floor.password), totp: stats(floor.totp) } } : {}),
  }
  const p50 = (kind: string, label: string, x: Stats) =>
    figure(BENCH, `${kind} p50 ${label}`, x.p50, "ms", undefined, `p99 ${x.p99} ms, n ${x.n}`)
  const pair = (kind: string, b: Stats, o: Stats, f?: Stats): Figure[] => [
    p50(kind, "without hooks", b),
    ...(f ? [p50(kind, "with hooks answered at once", f)] : []),
    p50(kind, "with hooks", o),
    // The old bar (<= 1.10x a Kratos without hooks), which no web_hook receiver can meet:
    // Kratos's own web_hook calls cost more than that with a receiver that answers at once.
    figure(
      BENCH,
      `${kind} p50 with / without`,
      o.p50 / b.p50,
      "x",
      undefined,
      `+${round(o.p50 - b.p50)} ms` +
        (f ? `: Kratos's web_hook calls +${round(f.p50 - b.p50)} ms` : ""),
    ),
    // Bar 1: kratos-guard's own share, over hooks answered at once.
    ...(f
      ? [
          figure(
            BENCH,
            `${kind} p50 with hooks - answered at once`,
            o.p50 - f.p50,
            "ms",
            { op: "<=", limit: 2 },
            `${o.p50} - ${f.p50} ms = ${round(o.p50 / f.p50)}x; before: +11.6 to +11.9 ms`,
          ),
        ]
      : []),
  ]
  const figures = [
    ...pair(
      "password change",
      result.without_hooks.password,
      result.with_hooks.password,
      result.bare_hooks?.password,
    ),
    ...pair(
      "TOTP link/unlink",
      result.without_hooks.totp,
      result.with_hooks.totp,
      result.bare_hooks?.totp,
    ),
  ]
  figures.forEach(printFigure)
  return { figures, raw: result }
}

/** A second stack: the same Kratos with every kratos-guard web_hook removed from settings. */
export const startStackWithoutHooks = () =>
  startBenchStack({ mutateKratosConfig: withoutSettingsWebhooks })

/**
 * A third stack: the same web_hooks (same jsonnet bodies, same response handling), sent to a
 * receiver that answers at once (`{}` before, 204 after persisting) instead of the service.
 * It tells what Kratos's own web_hook machinery costs apart from what kratos-guard does.
 */
export async function startStackWithBareHooks() {
  const receiver = http.createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      if (req.url?.endsWith("/pre")) {
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      } else res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  const { port } = receiver.address() as AddressInfo
  const stack = await startBenchStack({
    mutateKratosConfig: settingsWebhooksTo(`http://127.0.0.1:${port}`),
  })
  return {
    ...stack,
    stop: async () => {
      await stack.stop()
      receiver.close()
    },
  }
}

if (require.main === module) {
  void (async () => {
    const [withHooks, withoutHooks, bareHooks] = await Promise.all([
      startBenchStack(),
      startStackWithoutHooks(),
      startStackWithBareHooks(),
    ])
    try {
      await runHookOverhead(withHooks, withoutHooks, bareHooks)
    } finally {
      await Promise.all([withHooks.stop(), withoutHooks.stop(), bareHooks.stop()])
    }
  })().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}

import os from "node:os"
import { buildUiIfStale } from "../scripts/stack"
import { runAuditBench } from "./audit"
import { runGateBench } from "./gate"
import { runHookOverhead, startStackWithBareHooks, startStackWithoutHooks } from "./hook-overhead"
import { figure, formatTable, printFigure, writeResults, type Figure } from "./lib"
import { runNotifications } from "./notifications"
import { runProxyBench } from "./proxy"
import { runScaleOutBench } from "./scale-out"
import { runSecurityEventsBench } from "./security-events"
import { startBenchStack } from "./stack"
import { runUiBench } from "./ui"
import { runWebhookBench } from "./webhooks"

/**
 * `npm run bench`: every benchmark in one run, then a table of every figure with its bar and
 * PASS/FAIL, also written to bench/results/<timestamp>.json and bench/results/latest.json.
 *
 * Exit status: 1 when a benchmark could not run (or a correctness check inside one failed);
 * a missed bar is reported as FAIL but exits 0, unless BENCH_STRICT=1 (then 2), because the
 * absolute bars assume a machine of our own and the ratios are what a shared one can tell.
 */
async function main(): Promise<void> {
  const startedAt = new Date()
  const load = () => os.loadavg().map((l) => Math.round(l * 100) / 100)
  const machine = { cpus: os.cpus().length, loadavgAtStart: load(), loadavgAtEnd: [] as number[] }
  console.log(
    `kratos-guard benchmarks, ${startedAt.toISOString()}, ${machine.cpus} CPUs, load ${machine.loadavgAtStart.join(" ")}`,
  )
  const figures: Figure[] = []
  const raw: Record<string, unknown> = {}
  const section = (title: string) => console.log(`\n${title}`)

  // The service serves ui/dist only when it finds it at start (benchmark 8 loads the UI).
  buildUiIfStale()
  const [withoutHooks, bareHooks, stack] = await Promise.all([
    startStackWithoutHooks(),
    startStackWithBareHooks(),
    startBenchStack(),
  ])
  stack.use()
  try {
    section("1. hook overhead in the real flow")
    try {
      const r = await runHookOverhead(stack, withoutHooks, bareHooks)
      figures.push(...r.figures)
      raw.hookOverhead = r.raw
    } finally {
      await Promise.all([withoutHooks.stop(), bareHooks.stop()])
    }

    section("3. public proxy: GET /sessions/whoami")
    const proxy = await runProxyBench(stack)
    figures.push(...proxy.figures)
    raw.proxy = proxy.raw

    section("7. the gate: GET /api/auth/gate")
    const gate = await runGateBench(stack)
    figures.push(...gate.figures)
    raw.gate = gate.raw

    section("2. each webhook alone")
    const hooks = await runWebhookBench(stack)
    figures.push(...hooks.figures)
    raw.webhooks = hooks.raw

    // Before benchmark 4, whose generated rows are not chained.
    section("9. scaling out: three replicas on one database")
    const scale = await runScaleOutBench(stack)
    figures.push(...scale.figures)
    raw.scaleOut = scale.raw

    // Before benchmark 4 too: its generated rows would each be a delivery to the subscribers.
    section("10. security events out")
    const events = await runSecurityEventsBench(stack)
    figures.push(...events.figures)
    raw.securityEvents = events.raw

    section("6. memory under load")
    const memory = figure(
      "6 memory",
      "service peak RSS under load",
      Math.max(proxy.peakRssMb, hooks.peakRssMb),
      "MB",
      { op: "<=", limit: 150 },
      `proxy load ${proxy.peakRssMb} MB, webhook load ${hooks.peakRssMb} MB`,
    )
    printFigure(memory)
    figures.push(memory)

    section("4. activity and audit queries over generated rows")
    const audit = await runAuditBench(stack)
    figures.push(...audit.figures)
    raw.audit = audit.raw

    // After the loads: Lighthouse scales the main thread's work it observes by its CPU
    // slowdown, so anything else running at the same time counts against the page.
    section("8. UI first loads (Lighthouse, mobile)")
    const ui = await runUiBench(stack)
    figures.push(...ui.figures)
    raw.ui = ui.raw
  } finally {
    await stack.stop()
  }

  section("5. notification dispatch")
  figures.push(...(await runNotifications()).figures)

  machine.loadavgAtEnd = load()
  const wallSeconds = Math.round((Date.now() - startedAt.getTime()) / 1000)
  const failed = figures.filter((f) => f.pass === false)
  console.log(`\n${formatTable(figures)}`)
  console.log(
    `\n${figures.filter((f) => f.bar).length - failed.length} bars met, ${failed.length} missed; ` +
      `${wallSeconds} s; load ${machine.loadavgAtStart.join(" ")} at start, ${machine.loadavgAtEnd.join(" ")} at end`,
  )
  const file = writeResults(
    { startedAt: startedAt.toISOString(), wallSeconds, machine, figures, raw },
    startedAt,
  )
  console.log(`results: ${file}`)
  if (failed.length > 0 && process.env.BENCH_STRICT === "1") process.exitCode = 2
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

import { readFileSync } from "node:fs"

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, see BENCH_CPU_PROF in bench/stack.ts):
 * self time by function and by package or source folder, the top N of each, and the total
 * time (own and callees', within one synchronous run) of the service's own functions.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [N]
 */
interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const [file, top = "25"] = process.argv.slice(2)
const prof = JSON.parse(readFileSync(file!, "utf8")) as Profile
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]!
  const r = /\/(webhooks|db|kratos|scripts)\/(.*)$/.exec(url)
  if (r) return `${r[1]}/${r[2]}`
  return url.startsWith("node:") ? url : url ? "other" : "(native/gc/idle)"
}
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v)
const fn = new Map<string, number>()
const pkg = new Map<string, number>()
for (const [id, t] of self) {
  const n = byId.get(id)!
  const name = n.callFrame.functionName || "(anonymous)"
  add(fn, `${name} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`, t)
  add(pkg, where(n.callFrame.url), t)
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1e6).toFixed(1)} s)`)
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
    console.log(
      `${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    )
}
show("self time by package / folder", pkg)
show("self time by function", fn)

// Total time of each of our own functions (webhooks/, db/, kratos/): its self time plus its
// callees', counted once per stack even when a function recurses. Async work after an await
// runs under a new stack, so this is the synchronous part of each function.
const parent = new Map<number, number>()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const ownCode = (url: string) => /\/(webhooks|db|kratos)\//.test(url) && !/node_modules/.test(url)
const inclusive = new Map<string, number>()
for (const [id, t] of self) {
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!
    if (!ownCode(n.callFrame.url)) continue
    const key = `${n.callFrame.functionName || "(anonymous)"} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
    if (seen.has(key)) continue
    seen.add(key)
    add(inclusive, key, t)
  }
}
show("total time of our own functions (self + callees, synchronous)", inclusive)

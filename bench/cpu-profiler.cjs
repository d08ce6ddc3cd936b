// Preloaded into the service by BENCH_CPU_PROF (see bench/stack.ts), because `--cpu-prof`
// is not accepted in NODE_OPTIONS: profiles the whole process with the inspector and writes
// a .cpuprofile into BENCH_CPU_PROF when the process exits.
const { Session } = require("node:inspector")
const { writeFileSync } = require("node:fs")
const path = require("node:path")

const dir = process.env.BENCH_CPU_PROF
if (dir) {
  const session = new Session()
  session.connect()
  session.post("Profiler.enable")
  session.post("Profiler.setSamplingInterval", { interval: 1000 })
  session.post("Profiler.start")
  process.on("exit", () => {
    // An in-process session answers synchronously, so this runs before the process is gone.
    session.post("Profiler.stop", (err, res) => {
      if (!err)
        writeFileSync(
          path.join(dir, `service-${process.pid}.cpuprofile`),
          JSON.stringify(res.profile),
        )
    })
  })
}

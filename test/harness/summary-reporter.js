// Writes the closing line CI reads, "N passed, N failed", to test-output/summary.txt;
// scripts/test.sh prints it as the very last line of `npm test`. Also writes
// test-output/durations.txt: each test file's time, slowest first, to see where a run goes.
const { mkdirSync, writeFileSync } = require("node:fs")
const path = require("node:path")

class SummaryReporter {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir
    this.files = []
  }

  onTestResult(_test, result) {
    const { start, end } = result.perfStats
    this.files.push({ file: path.relative(this.root, result.testFilePath), ms: end - start })
  }

  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const skipped = results.numPendingTests + results.numTodoTests
    const line =
      `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "")
    const dir = path.join(__dirname, "..", "..", "test-output")
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, "summary.txt"), line + "\n")
    const wall = Date.now() - results.startTime
    const rows = this.files
      .sort((a, b) => b.ms - a.ms)
      .map((f) => `${(f.ms / 1000).toFixed(1).padStart(7)} s  ${f.file}`)
    writeFileSync(
      path.join(dir, "durations.txt"),
      [`${(wall / 1000).toFixed(1)} s wall clock, ${this.files.length} files`, ...rows].join("\n") +
        "\n",
    )
  }
}
module.exports = SummaryReporter

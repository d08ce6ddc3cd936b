// Writes the closing line CI reads, "N passed, N failed", to test-output/summary.txt;
// scripts/test.sh prints it as the very last line of `npm test`.
const { mkdirSync, writeFileSync } = require("node:fs")
const path = require("node:path")

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const skipped = results.numPendingTests + results.numTodoTests
    const line =
      `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "")
    const dir = path.join(__dirname, "..", "..", "test-output")
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, "summary.txt"), line + "\n")
  }
}
module.exports = SummaryReporter

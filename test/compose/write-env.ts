import { readFileSync, writeFileSync } from "node:fs"
import path from "node:path"
import { composeEnvFile } from "./env-file"

/** `tsx test/compose/write-env.ts OUT NAME=VALUE…`: writes the test's .env (mode 0600). */
const [out, ...pairs] = process.argv.slice(2)
if (!out) {
  console.error("usage: write-env.ts OUT [NAME=VALUE...]")
  process.exit(2)
}
const settings = Object.fromEntries(
  pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
)
const example = readFileSync(path.join(__dirname, "..", "..", ".env.example"), "utf8")
writeFileSync(out, composeEnvFile(example, settings), { mode: 0o600 })

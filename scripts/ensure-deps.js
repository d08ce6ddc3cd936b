// Runs `npm ci` when node_modules is missing or older than package-lock.json, so that
// `npm start` and `npm test` work on a fresh clone. Plain JS: it runs before any dependency exists.
const { existsSync, statSync } = require("node:fs")
const { execSync } = require("node:child_process")
const path = require("node:path")

const root = path.resolve(__dirname, "..")
const marker = path.join(root, "node_modules", ".package-lock.json")
const lock = path.join(root, "package-lock.json")
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log("Installing dependencies (npm ci)…")
  execSync("npm ci --no-audit --no-fund", { cwd: root, stdio: "inherit" })
}

// Runs `npm ci` when node_modules is missing or was installed from another package-lock.json,
// so that `npm start` and `npm test` work on a fresh clone. Plain JS: it runs before any
// dependency exists.
const { createHash } = require("node:crypto")
const { existsSync, lstatSync, readFileSync, statSync, writeFileSync } = require("node:fs")
const { execSync } = require("node:child_process")
const path = require("node:path")

const root = path.resolve(__dirname, "..")
const modules = path.join(root, "node_modules")
const marker = path.join(modules, ".package-lock.json")
const stamp = path.join(modules, ".kratos-guard-lock-sha256")
const lock = path.join(root, "package-lock.json")
const want = createHash("sha256").update(readFileSync(lock)).digest("hex")

/** The lock's hash as of the last `npm ci` here; an install made otherwise goes by mtime. */
function upToDate() {
  if (!existsSync(marker)) return false
  if (existsSync(stamp)) return readFileSync(stamp, "utf8").trim() === want
  return statSync(marker).mtimeMs >= statSync(lock).mtimeMs
}

if (!upToDate()) {
  if (lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink()) {
    // `npm ci` would empty the linked folder, which other checkouts use.
    console.log("node_modules is a link to a shared install: not reinstalling it from here")
  } else {
    console.log("Installing dependencies (npm ci)…")
    execSync("npm ci --no-audit --no-fund", { cwd: root, stdio: "inherit" })
    writeFileSync(stamp, `${want}\n`)
  }
}

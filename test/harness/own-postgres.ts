import { execFile, execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { freePort } from "../../scripts/stack"

/** Debian's versioned server binaries; PG_BIN_DIR overrides. */
function binDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, "bin", "pg_ctl")))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (!versions[0]) throw new Error("no Postgres server binaries (initdb, pg_ctl) found")
  return path.join(root, versions[0], "bin")
}

/**
 * A Postgres server of the test's own (initdb on a temp folder, a free port), so a test can
 * stop and start it without disturbing the shared one. Postgres refuses to run as root: when
 * the tests run as root, the server runs as the `postgres` OS user.
 */
export async function startOwnPostgres() {
  const bin = binDir()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(path.join(os.tmpdir(), "kg-pg-"))
  const data = path.join(dir, "data")
  const log = path.join(dir, "server.log")
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    chownSync(dir, uid, gid)
  }
  // Asynchronous, so the test keeps driving requests while the server stops and starts.
  const run = async (tool: string, args: string[]) => {
    const cmd = path.join(bin, tool)
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args]
    await promisify(execFile)(file, argv, { encoding: "utf8" })
  }
  await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
  const port = await freePort()
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ")
  const start = async () => {
    await run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"])
  }
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    await run("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"])
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    /** Stops the server: `fast` ends sessions with an admin shutdown, `immediate` like a crash. */
    stop,
    start,
    async destroy() {
      await stop("immediate").catch(() => {
        // already stopped
      })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import postgres from "postgres"
import { freePort, ROOT } from "../../scripts/stack"

/** Runs one of npm test's own set-up scripts; answers its exit code and output. */
function run(script: string, args: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>(
    (resolve) => {
      const started = Date.now()
      const child = spawn("bash", [path.join(ROOT, "scripts", script), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      child.on("exit", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }))
    },
  )
}

const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "")

describe("npm test's own set-up", () => {
  it("when the Chromium it is told to use is missing, then it stops with one line saying so", async () => {
    const r = await run("ensure-chromium.sh", [], { CHROMIUM_PATH: "/nonexistent/chromium" })
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/CHROMIUM_PATH=\/nonexistent\/chromium is not an executable/)
  })

  it("when TEST_POSTGRES_URL names a Postgres that doesn't answer, then it stops at once with one line and runs no test", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kg-prereq-"))
    const marker = path.join(dir, "ran")
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`
    const r = await run("with-test-postgres.sh", ["touch", marker], { TEST_POSTGRES_URL: url })
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/no Postgres answers at TEST_POSTGRES_URL/),
    ])
    expect(r.ms).toBeLessThan(15_000)
    expect(existsSync(marker)).toBe(false)
    rmSync(dir, { recursive: true, force: true })
  })

  it("when PG_BIN_DIR has no server binaries, then it stops with one line naming it", async () => {
    const r = await run("with-test-postgres.sh", ["true"], {
      TEST_POSTGRES: "own",
      PG_BIN_DIR: "/nonexistent/bin",
    })
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/PG_BIN_DIR=\/nonexistent\/bin has no pg_ctl/),
    ])
  })

  it("when it starts a throw-away Postgres, then the command gets it in TEST_POSTGRES_URL, can create databases, and the server is gone afterwards", async () => {
    // The command reports the URL it was given and creates and drops a database on it.
    const probe = `
      const sql = require("postgres")(process.env.TEST_POSTGRES_URL, { max: 1, onnotice: () => {} })
      ;(async () => {
        await sql.unsafe("create database kg_prereq_probe")
        await sql.unsafe("drop database kg_prereq_probe")
        const [{ v }] = await sql\`show max_connections\`.then((r) => r.map((x) => ({ v: x.max_connections })))
        console.log(JSON.stringify({ url: process.env.TEST_POSTGRES_URL, maxConnections: v }))
        await sql.end()
      })().catch((e) => { console.error(e.message); process.exit(3) })`
    const r = await run("with-test-postgres.sh", ["node", "-e", probe], {
      TEST_POSTGRES: "own",
      TEST_POSTGRES_URL: undefined,
    })
    expect([r.code, r.stderr]).toEqual([0, ""])
    expect(r.stdout).toMatch(/Started a throw-away Postgres for this run on 127\.0\.0\.1:\d+/)
    const reported = JSON.parse(lines(r.stdout).at(-1)!) as { url: string; maxConnections: string }
    expect(reported.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
    expect(Number(reported.maxConnections)).toBeGreaterThanOrEqual(300)

    const after = postgres(reported.url, { max: 1, connect_timeout: 2, onnotice: () => {} })
    await expect(after`select 1`).rejects.toThrow()
    await after.end({ timeout: 1 }).catch(() => {})
  }, 90_000)
})

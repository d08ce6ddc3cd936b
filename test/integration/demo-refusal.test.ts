import { spawn } from "node:child_process"
import path from "node:path"
import { DEMO_DOMAIN } from "../../scripts/demo-tenant"
import { freePort, ROOT } from "../../scripts/stack"
import { kratosClients } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/** Runs a script under tsx as npm would; answers its exit code and output. */
function run(script: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
}

async function demoIdentities(): Promise<number> {
  const { data } = await kratosClients().identities.listIdentities({
    credentialsIdentifier: `olivia.chen@${DEMO_DOMAIN}`,
  })
  return data.length
}

describe("the demo refuses anything but a local development stack", () => {
  const stack = () => ({
    SERVICE_URL: stackInfo().publicUrl,
    KRATOS_WEBHOOK_API_KEY: stackInfo().webhookApiKey,
  })

  it.each([
    [{ NODE_ENV: "production" }, /NODE_ENV is production/],
    [
      { DATABASE_URL: "postgres://kg@db.acme.example:5432/kg" },
      /db\.acme\.example, not this machine/,
    ],
  ])(
    "when npm run demo runs with %p against a running stack, then it refuses in one line and seeds nothing",
    async (env, reason) => {
      const r = await run("scripts/demo.ts", [], { ...stack(), ...env })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(reason)])
      expect(await demoIdentities()).toBe(0)
    },
  )

  it("when the service it would seed is on another host, then it refuses before any request", async () => {
    const r = await run("scripts/demo.ts", [], {
      ...stack(),
      SERVICE_URL: "https://guard.acme.example",
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/guard\.acme\.example is not on this machine/)
  })

  it("when npm start -- --demo runs with NODE_ENV=production, then it refuses before starting anything", async () => {
    const port = await freePort()
    const r = await run("scripts/start.ts", ["--demo"], {
      NODE_ENV: "production",
      PORT: String(port),
    })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([
      "npm start -- --demo refused: NODE_ENV is production: demo data is for local development only",
    ])
    await expect(fetch(`http://127.0.0.1:${port}/health/alive`)).rejects.toThrow()
  })
})

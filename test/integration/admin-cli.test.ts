import { execFile } from "node:child_process"
import path from "node:path"
import { promisify } from "node:util"
import { ROOT } from "../../scripts/stack"
import { closeServiceDb, serviceDb } from "../harness/db"
import { kratosClients, registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

afterAll(closeServiceDb)

const run = promisify(execFile)
const admin = (args: string[], key = stackInfo().webhookApiKey) =>
  run(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/admin.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, SERVICE_URL: stackInfo().publicUrl, KRATOS_WEBHOOK_API_KEY: key },
  })

describe("npm run admin -- grant", () => {
  it("when the operator grants super_admin, then the role is set in Kratos and audited with actor system", async () => {
    const user = await registerNative()
    const { stdout } = await admin(["grant", user.email, "super_admin"])
    expect(stdout).toMatch(/is now super_admin \(was member\)/)

    const { data } = await kratosClients().identities.getIdentity({ id: user.identityId })
    expect((data.metadata_public as { role: string }).role).toBe("super_admin")
    const rows = await serviceDb()<
      { actor_type: string; actor_id: string | null; details: unknown }[]
    >`
      select actor_type, actor_id, details from audit_events
      where subject_id = ${user.identityId} and event = 'admin.role_changed'`
    expect(rows).toEqual([
      { actor_type: "system", actor_id: null, details: { from: "member", to: "super_admin" } },
    ])
  })

  it("when the API key is wrong, then the command is refused and nothing changes", async () => {
    const user = await registerNative()
    await expect(admin(["grant", user.email, "admin"], "x".repeat(64))).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused \(401\)/),
    })
    const { data } = await kratosClients().identities.getIdentity({ id: user.identityId })
    expect((data.metadata_public as { role: string }).role).toBe("member")
  })

  it("when the email is unknown or the role invented, then it says so", async () => {
    await expect(admin(["grant", "nobody-here@example.com", "admin"])).rejects.toMatchObject({
      stderr: expect.stringMatching(/no user with email/),
    })
    await expect(admin(["grant", "x@example.com", "owner"])).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused \(400\)/),
    })
  })
})

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

  it("when the operator dates an admin grant days back, then Kratos holds that time and the gate says the enrolment is overdue", async () => {
    const user = await registerNative()
    const since = new Date(Date.now() - 5 * 86_400_000).toISOString()
    const { stdout } = await admin(["grant", user.email, "admin", "--assigned-at", since])
    expect(stdout).toMatch(/is now admin \(was member\)/)

    const { data } = await kratosClients().identities.getIdentity({ id: user.identityId })
    expect(data.metadata_public).toMatchObject({ role: "admin", role_assigned_at: since })
    const gate = await fetch(`${stackInfo().publicUrl}/api/auth/gate`, {
      headers: { "X-Session-Token": user.sessionToken },
    })
    expect(gate.status).toBe(403)
    expect(((await gate.json()) as { error: { reason: string } }).error.reason).toBe(
      "mfa_enrollment_required",
    )
    const rows = await serviceDb()<{ actor_type: string; details: unknown }[]>`
      select actor_type, details from audit_events
      where subject_id = ${user.identityId} and event = 'admin.role_changed'`
    expect(rows).toEqual([
      { actor_type: "system", details: { from: "member", to: "admin", assigned_at: since } },
    ])
  })

  it("when the operator dates a grant in the future, then it is refused and the role stays", async () => {
    const user = await registerNative()
    const later = new Date(Date.now() + 86_400_000).toISOString()
    await expect(
      admin(["grant", user.email, "admin", "--assigned-at", later]),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/refused \(400\)/) })
    await expect(admin(["grant", user.email, "admin", "--assigned-at"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^usage:/),
    })
    const { data } = await kratosClients().identities.getIdentity({ id: user.identityId })
    expect((data.metadata_public as { role: string }).role).toBe("member")
  })

  it("when SERVICE_URL is unset, then the CLI finds the stack on PORT, as npm start does", async () => {
    const user = await registerNative()
    const { port } = new URL(stackInfo().publicUrl)
    const { SERVICE_URL: _unset, ...env } = process.env
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts/admin.ts"), "grant", user.email, "admin"],
      { cwd: ROOT, env: { ...env, PORT: port, KRATOS_WEBHOOK_API_KEY: stackInfo().webhookApiKey } },
    )
    expect(stdout).toMatch(/is now admin/)
    const { data } = await kratosClients().identities.getIdentity({ id: user.identityId })
    expect((data.metadata_public as { role: string }).role).toBe("admin")
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

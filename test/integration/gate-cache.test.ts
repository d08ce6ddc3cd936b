import { browserRegistration } from "../harness/browser-session"
import { staff } from "../harness/flows"
import { kratosClients } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"
import { GATE_CACHE_MS } from "../../webhooks/domain/gate-cache"

/**
 * The gate keeps Kratos's answers (whoami, the credentials read) for at most GATE_CACHE_MS
 * and reads the service's own record on every call. These tests hold it to that bound against
 * real Kratos: a change made in Kratos behind the service's back is seen by every gate call
 * sent GATE_CACHE_MS or more after the change completed, and a change to the record at once.
 */
const GIVE_UP_MS = 20_000

async function gate(cookie: string) {
  const res = await fetch(`${stackInfo().publicUrl}/api/auth/gate`, {
    headers: { accept: "application/json", cookie },
  })
  const body = (await res.json()) as { error?: { reason?: string } }
  return { status: res.status, role: res.headers.get("x-identity-role"), body }
}

describe("the gate's cache of Kratos answers", () => {
  it(`when a session is revoked through the Kratos admin API, then every gate call sent ${GATE_CACHE_MS} ms or more after the revocation answers 401`, async () => {
    const user = await browserRegistration()
    // Twice, so the second answer comes from the cache.
    expect((await gate(user.sessionCookie)).status).toBe(200)
    expect((await gate(user.sessionCookie)).status).toBe(200)

    await kratosClients().identities.deleteIdentitySessions({ id: user.identityId })
    const revokedAt = Date.now()

    // Polling until a 401; each answer is judged by when its call was sent.
    const allowedAfterBound: number[] = []
    let last = 200
    while (last !== 401 && Date.now() - revokedAt < GIVE_UP_MS) {
      const sentAt = Date.now()
      const r = await gate(user.sessionCookie)
      last = r.status
      if (r.status === 200 && sentAt - revokedAt >= GATE_CACHE_MS) {
        allowedAfterBound.push(sentAt - revokedAt)
      }
    }
    expect(last).toBe(401)
    expect(allowedAfterBound).toEqual([])
    // And it stays refused.
    expect((await gate(user.sessionCookie)).status).toBe(401)
  })

  it("when an administrator changes the person's role and then requires a password change, then the very next gate calls show the new role and refuse with password_change_required", async () => {
    const boss = await staff("super_admin")
    const user = await browserRegistration()
    const first = await gate(user.sessionCookie)
    expect(first).toMatchObject({ status: 200, role: "member" })

    const admin = (path: string, method: string, body?: object) =>
      fetch(`${stackInfo().publicUrl}${path}`, {
        method,
        headers: {
          "x-session-token": boss.token,
          "content-type": "application/json",
          accept: "application/json",
        },
        body: body ? JSON.stringify(body) : undefined,
      })
    const role = await admin(`/api/admin/users/${user.identityId}/role`, "PUT", { role: "admin" })
    expect(role.status).toBe(200)
    expect((await gate(user.sessionCookie)).role).toBe("admin")

    const forced = await admin(`/api/admin/users/${user.identityId}/force-password-change`, "POST")
    expect(forced.status).toBe(200)
    const refused = await gate(user.sessionCookie)
    expect(refused.status).toBe(403)
    expect(refused.body.error?.reason).toBe("password_change_required")
  })
})

import request from "supertest"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

describe("one public origin", () => {
  it("when a browser starts a login flow on the service's origin, then Kratos answers through the proxy with actions on that origin", async () => {
    const s = stackInfo()
    const res = await request(s.publicUrl)
      .get("/self-service/login/browser")
      .set("Accept", "application/json")
    expect(res.status).toBe(200)
    expect(res.body.ui.action.startsWith(`${s.publicUrl}/self-service/login?flow=`)).toBe(true)
    expect(String(res.headers["set-cookie"])).toMatch(/csrf_token/)
  })

  it("when a session token asks whoami through the proxy, then Kratos records the client IP the service saw, not a spoofed one", async () => {
    const user = await registerNative()
    const res = await request(stackInfo().publicUrl)
      .get("/sessions/whoami")
      .set("X-Session-Token", user.sessionToken)
      .set("True-Client-IP", "203.0.113.9")
    expect(res.status).toBe(200)
    expect(res.body.identity.id).toBe(user.identityId)
    const ips = (res.body.devices ?? []).map((d: { ip_address?: string }) => d.ip_address)
    expect(ips).not.toContain("203.0.113.9")
  })

  it("when a browser asks for Kratos admin paths on the public origin, then they are not exposed", async () => {
    const res = await request(stackInfo().publicUrl)
      .get("/admin/identities")
      .set("Accept", "application/json")
    // The path falls through to the UI (an HTML page), never to Kratos's admin API.
    expect(res.headers["content-type"]).not.toMatch(/json/)
    expect(res.text).not.toMatch(/"traits"/)
  })

  it("when a browser opens a UI route, then the service answers with a page and security headers", async () => {
    const res = await request(stackInfo().publicUrl).get("/login")
    expect(res.status).toBe(200)
    expect(res.headers["content-type"]).toMatch(/text\/html/)
    expect(res.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/)
    expect(res.headers["x-content-type-options"]).toBe("nosniff")
  })
})

import http from "node:http"
import type { AddressInfo } from "node:net"
import { type InternalOrigins, relayResponse } from "../../webhooks/proxy/forward"

/**
 * Kratos's answers are relayed with their headers, but a `Location` on Kratos's internal
 * origins never reaches the browser: the public one is moved to the service's URL, the admin
 * one is not shown at all.
 */
describe("relaying Kratos's answers", () => {
  const listen = async (handler: http.RequestListener) => {
    const server = http.createServer(handler)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
  }

  async function relayed(location: string) {
    const kratos = await listen((_req, res) => {
      res.writeHead(303, { location, "set-cookie": ["a=1", "b=2"] })
      res.end("moved")
    })
    const origins: InternalOrigins = {
      kratosPublic: "http://kratos:4433",
      kratosAdmin: "http://kratos:4434",
      publicUrl: "https://id.example.com",
    }
    const front = await listen((_req, res) => {
      http.get(kratos.url, (up) => relayResponse(up, res, origins))
    })
    try {
      const res = await fetch(front.url, { redirect: "manual" })
      return {
        status: res.status,
        location: res.headers.get("location"),
        cookies: res.headers.getSetCookie(),
        body: await res.text(),
      }
    } finally {
      front.server.close()
      kratos.server.close()
    }
  }

  it("when Kratos redirects to its internal public origin, then the browser is sent to the public URL", async () => {
    const r = await relayed("http://kratos:4433/self-service/login/browser?aal=aal2")
    expect(r).toMatchObject({
      status: 303,
      location: "https://id.example.com/self-service/login/browser?aal=aal2",
      cookies: ["a=1", "b=2"],
    })
  })

  it("when Kratos redirects to its admin origin, then the answer is a 404 without the address", async () => {
    const r = await relayed("http://kratos:4434/admin/identities")
    expect(r.status).toBe(404)
    expect(r.location).toBeNull()
    expect(r.body).not.toContain("kratos:4434")
  })

  it("when Kratos redirects to the public URL or a relative path, then it is relayed as it is", async () => {
    expect((await relayed("https://id.example.com/settings?flow=x")).location).toBe(
      "https://id.example.com/settings?flow=x",
    )
    expect((await relayed("/login?flow=x")).location).toBe("/login?flow=x")
  })
})

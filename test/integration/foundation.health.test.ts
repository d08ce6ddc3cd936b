import net from "node:net"
import request from "supertest"
import { openDatabase } from "../../db/client"
import { inProcessApp } from "../harness/app"
import { stackInfo } from "../harness/stack-info"

/** A TCP relay to Postgres that the test can cut, as if the database went away. */
async function cuttableRelay(target: URL) {
  const sockets = new Set<net.Socket>()
  let open = true
  const server = net.createServer((client) => {
    if (!open) return client.destroy()
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
      s.on("error", () => s.destroy())
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      open = false
      for (const s of sockets) s.destroy()
    },
    restore: () => {
      open = true
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

describe("/health/ready", () => {
  it("when the database becomes unreachable, then the service reports unready, and ready again once it is back", async () => {
    const s = stackInfo()
    if (!s.serviceDatabaseUrl) throw new Error("this test needs Postgres at 127.0.0.1:5432")
    const target = new URL(s.serviceDatabaseUrl)
    const relay = await cuttableRelay(target)
    const viaRelay = new URL(target)
    viaRelay.hostname = "127.0.0.1"
    viaRelay.port = String(relay.port)

    const database = openDatabase({ databaseUrl: viaRelay.toString(), poolMax: 2 })
    const { app } = inProcessApp({ database })
    try {
      const before = await request(app).get("/health/ready")
      expect(before.status).toBe(200)
      expect(before.body.checks).toEqual({ database: "ok", kratos: "ok" })

      relay.cut()
      const during = await request(app).get("/health/ready")
      expect(during.status).toBe(503)
      expect(during.body.checks).toEqual({ database: "unreachable", kratos: "ok" })

      relay.restore()
      const after = await request(app).get("/health/ready")
      expect(after.status).toBe(200)
    } finally {
      await database.close()
      await relay.close()
    }
  })

  it("when Kratos admin is unreachable, then the service reports unready", async () => {
    const { app, close } = inProcessApp({ kratosAdminUrl: "http://127.0.0.1:9" })
    try {
      const res = await request(app).get("/health/ready")
      expect(res.status).toBe(503)
      expect(res.body.checks.kratos).toBe("unreachable")
    } finally {
      await close()
    }
  })

  it("when asked whether it is alive, then the running service says so", async () => {
    const res = await request(stackInfo().publicUrl).get("/health/alive")
    expect(res.status).toBe(200)
  })
})

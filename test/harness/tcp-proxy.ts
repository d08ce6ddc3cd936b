import net from "node:net"

/**
 * A TCP proxy on a fixed loopback port that a test can cut (the port then refuses
 * connections and open ones are reset) and restore, to take a dependency away from the
 * service without touching the dependency itself.
 */
export async function startTcpProxy(target?: { host: string; port: number }) {
  let to = target
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.once("close", () => sockets.delete(s))
  }
  const server = net.createServer((client) => {
    track(client)
    if (!to) return client.destroy()
    const upstream = net.connect(to.port, to.host)
    track(upstream)
    client.on("error", () => upstream.destroy())
    upstream.on("error", () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject)
        resolve()
      })
    })
  await listen(0)
  const port = (server.address() as net.AddressInfo).port
  let up = true

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** Sets where connections go (e.g. once the target's port is known). */
    target(url: string) {
      const u = new URL(url)
      to = { host: u.hostname, port: Number(u.port) }
    },
    /** Refuses new connections and resets the open ones. */
    async cut() {
      if (!up) return
      up = false
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
    async restore() {
      if (up) return
      await listen(port)
      up = true
    },
    async close() {
      await this.cut()
    },
  }
}

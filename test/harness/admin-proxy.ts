import http from "node:http"
import type net from "node:net"

/**
 * An HTTP proxy between the service and the Kratos admin API. With `loseWrites` on, it answers
 * every identity PATCH with 200 and forwards nothing: to the service, a Kratos that says yes
 * and then doesn't hold the write (what a concurrent full-identity write would do).
 */
export async function startAdminProxy() {
  let target: URL | null = null
  let loseWrites = false
  let lost = 0
  const server = http.createServer((req, res) => {
    if (loseWrites && req.method === "PATCH" && /^\/admin\/identities\//.test(req.url ?? "")) {
      lost++
      req.resume()
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
      return
    }
    const out = http.request(
      {
        host: target!.hostname,
        port: target!.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: target!.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    out.on("error", () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    target(url: string) {
      target = new URL(url)
    },
    loseWrites(on: boolean) {
      loseWrites = on
    },
    lostWrites: () => lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

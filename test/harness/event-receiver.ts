import http from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"

/** One POST a receiver got: the three signature headers, the body, and the verifier's verdict. */
export interface Received {
  id: string
  timestamp: string
  signature: string
  body: string
  event: {
    id: string
    type: string
    data: {
      chain: { seq: number; prev_hash: string | null; hash: string }
      entry: Record<string, unknown>
    }
  }
  /** Whether the Standard Webhooks verifier accepted it with the receiver's secret. */
  verified: boolean
  /** The verifier's error when it refused. */
  refusal?: string
  /** When its body had arrived (performance.now() of this process). */
  at: number
}

export type ReceiverMode = "ok" | "fail" | "hold"

/**
 * A real HTTP receiver on loopback, as a SIEM's endpoint would be: it checks each POST with the
 * `standardwebhooks` verifier. `fail` answers 503, `hold` never answers (a slow receiver or one
 * the service dies on), `down()` closes the port altogether.
 */
export async function startReceiver(port = 0) {
  let secret: string | null = null
  let mode: ReceiverMode = "ok"
  const received: Received[] = []
  const held: http.ServerResponse[] = []
  const onPost: ((r: Received) => void)[] = []
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const at = performance.now()
      const body = Buffer.concat(chunks).toString("utf8")
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      }
      let verified = false
      let refusal: string | undefined
      try {
        if (!secret) throw new Error("no secret set")
        new Webhook(secret).verify(body, headers)
        verified = true
      } catch (err) {
        refusal = (err as Error).message
      }
      let event: Received["event"]
      try {
        event = JSON.parse(body) as Received["event"]
      } catch {
        event = {
          id: "",
          type: "",
          data: { chain: { seq: -1, prev_hash: null, hash: "" }, entry: {} },
        }
      }
      const r: Received = {
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        signature: headers["webhook-signature"],
        body,
        event,
        verified,
        ...(refusal ? { refusal } : {}),
        at,
      }
      if (mode === "hold") {
        held.push(res)
        onPost.forEach((f) => f(r))
        return
      }
      if (mode === "fail") {
        res.writeHead(503).end("not now")
        return
      }
      received.push(r)
      onPost.forEach((f) => f(r))
      res.writeHead(204).end()
    })
  }
  let server = http.createServer({ keepAlive: true }, handler)
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  const boundPort = (server.address() as AddressInfo).port
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return {
    url: `http://127.0.0.1:${boundPort}/events`,
    received,
    setSecret(s: string) {
      secret = s
    },
    setMode(m: ReceiverMode) {
      mode = m
    },
    /** Resolves at the next POST (whatever the mode). */
    nextPost(): Promise<Received> {
      return new Promise((resolve) => {
        const f = (r: Received) => {
          onPost.splice(onPost.indexOf(f), 1)
          resolve(r)
        }
        onPost.push(f)
      })
    },
    /** Closes the port: connections are refused until `up()`. */
    async down() {
      await closeServer()
    },
    async up() {
      server = http.createServer({ keepAlive: true }, handler)
      await new Promise<void>((resolve) => server.listen(boundPort, "127.0.0.1", resolve))
    },
    async stop() {
      for (const r of held) r.destroy()
      await closeServer()
    },
  }
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>

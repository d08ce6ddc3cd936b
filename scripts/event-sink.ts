import http from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"
import { hookAuthorization } from "../webhooks/middleware/hook-auth"

/**
 * A local receiver of security events, for development (`npm start` runs it; its page is at
 * /dev/events). It listens on loopback and takes POSTs at `/receive/<name>`: each name is a
 * receiver of its own with its own signing secret. Every delivery is checked with the
 * `standardwebhooks` verifier, as a SIEM's endpoint would, and listed newest first at `/`
 * (HTML) and `/events.json`. `npm start` hands it the secret of the "Local receiver (dev)"
 * subscriber (`/receive/local`); a person testing a subscriber of their own pastes its secret
 * on the page. Not for production.
 *
 * It answers every well-formed delivery with 204, a valid signature or not, so nothing is
 * retried on its account; a real receiver refuses an invalid one (4xx) instead.
 */

/** The verdict on one delivery's signature. */
export type Verdict = "valid" | "invalid" | "no secret known"

export interface SinkEvent {
  seq: number
  /** The receiver it was posted to (the name after /receive/). */
  receiver: string
  receivedAt: string
  webhookId: string
  webhookTimestamp: string
  webhookSignature: string
  /** The CloudEvent's own fields (null when the body is not a JSON object). */
  id: string | null
  type: string | null
  time: string | null
  subject: string | null
  body: string
  verdict: Verdict
  /** Why the verifier refused, or how a later check was made. */
  note: string | null
  /** An earlier delivery to this receiver had the same webhook-id (a retry or a replay). */
  repeat: boolean
}

export interface EventSink {
  port: number
  /** The page and the receivers' base, e.g. http://127.0.0.1:8026 */
  url: string
  /** A receiver's URL, for a subscriber. */
  receiverUrl(name: string): string
  events: SinkEvent[]
  /** Gives a receiver its signing secret (label: who set it, shown on the page). */
  setSecret(receiver: string, secret: string, label: string): void
  close(): Promise<void>
}

const BASE = "/dev/events"
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/
const SECRET = /^(whsec_)?[A-Za-z0-9+/]{16,200}={0,2}$/
const MAX_BODY = 1024 * 1024

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  )

function field(event: unknown, key: string): string | null {
  if (!event || typeof event !== "object") return null
  const v = (event as Record<string, unknown>)[key]
  return typeof v === "string" ? v : null
}

/** The verifier's verdict on one delivery, with the receiver's secret as it is now. */
function check(
  secret: string | undefined,
  body: string,
  headers: Record<string, string>,
): { verdict: Verdict; note: string | null } {
  if (!secret) return { verdict: "no secret known", note: null }
  try {
    new Webhook(secret).verify(body, headers)
    return { verdict: "valid", note: null }
  } catch (err) {
    return { verdict: "invalid", note: (err as Error).message }
  }
}

/**
 * The signature alone, for a delivery that came before its secret: the verifier's timestamp
 * tolerance (5 minutes) would refuse it by now, so this compares what the secret signs with
 * what the header carries.
 */
function checkLater(secret: string, e: SinkEvent): Verdict {
  const ts = Number(e.webhookTimestamp)
  if (!Number.isFinite(ts) || !e.webhookId) return "invalid"
  let expected: string
  try {
    expected = new Webhook(secret).sign(e.webhookId, new Date(ts * 1000), e.body)
  } catch {
    return "invalid"
  }
  return e.webhookSignature.split(" ").includes(expected) ? "valid" : "invalid"
}

export async function startEventSink(
  opts: { port?: number; keep?: number; onEvent?: (e: SinkEvent) => void } = {},
): Promise<EventSink> {
  const events: SinkEvent[] = []
  const secrets = new Map<string, { secret: string; label: string }>()
  /** Deliveries that came with no secret known, for a check once it is given. */
  const unchecked = new Set<number>()
  const seen = new Set<string>()
  let seq = 0
  let port = opts.port ?? 0

  const setSecret = (receiver: string, secret: string, label: string) => {
    secrets.set(receiver, { secret, label })
    for (const e of events) {
      if (e.receiver !== receiver || !unchecked.has(e.seq)) continue
      e.verdict = checkLater(secret, e)
      e.note = "signature checked when the secret was given; the timestamp was not"
      unchecked.delete(e.seq)
    }
  }

  const receive = (req: http.IncomingMessage, res: http.ServerResponse, receiver: string) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on("data", (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        res.writeHead(413, { "content-type": "text/plain" }).end("body too large")
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on("end", () => {
      if (size > MAX_BODY) return
      const body = Buffer.concat(chunks).toString("utf8")
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      }
      let parsed: unknown = null
      try {
        parsed = JSON.parse(body)
      } catch {
        // Listed as it came; the verifier judges the signature all the same.
      }
      const known = secrets.get(receiver)
      const { verdict, note } = check(known?.secret, body, headers)
      const key = `${receiver} ${headers["webhook-id"]}`
      const e: SinkEvent = {
        seq: ++seq,
        receiver,
        receivedAt: new Date().toISOString(),
        webhookId: headers["webhook-id"],
        webhookTimestamp: headers["webhook-timestamp"],
        webhookSignature: headers["webhook-signature"],
        id: field(parsed, "id"),
        type: field(parsed, "type"),
        time: field(parsed, "time"),
        subject: field(parsed, "subject"),
        body,
        verdict,
        note,
        repeat: headers["webhook-id"] !== "" && seen.has(key),
      }
      seen.add(key)
      if (!known) unchecked.add(e.seq)
      events.unshift(e)
      for (const dropped of events.splice(opts.keep ?? 500)) unchecked.delete(dropped.seq)
      opts.onEvent?.(e)
      res.writeHead(204).end()
    })
  }

  const pasteSecret = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Only from this page: another site's form can't post to it (the Origin would differ).
    const origin = req.headers.origin
    if (origin && origin !== "null" && new URL(origin).host !== req.headers.host) {
      res.writeHead(403, { "content-type": "text/plain" }).end("cross-origin form refused")
      return
    }
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8").slice(0, 4096))
      const receiver = (form.get("receiver") ?? "").trim()
      const secret = (form.get("secret") ?? "").trim()
      const problem = !NAME.test(receiver)
        ? "The receiver name is letters, digits, - and _ (at most 40)."
        : !SECRET.test(secret)
          ? "That is not a signing secret (whsec_ and base64, as the console shows it)."
          : null
      if (problem) {
        res.writeHead(400, { "content-type": "text/html; charset=utf-8" })
        res.end(page(`<p class="problem" role="alert">${escape(problem)}</p>`))
        return
      }
      setSecret(receiver, secret, "pasted on this page")
      res.writeHead(303, { location: BASE }).end()
    })
  }

  const receiverUrl = (name: string) => `http://127.0.0.1:${port}/receive/${name}`

  const page = (notice = "") => {
    const names = [...new Set([...secrets.keys(), ...events.map((e) => e.receiver)])].sort()
    const receivers = names
      .map((n) => {
        const s = secrets.get(n)
        return `<tr><td><code>${escape(receiverUrl(n))}</code></td><td>${
          s ? `known <span class="muted">(${escape(s.label)})</span>` : "not known"
        }</td></tr>`
      })
      .join("")
    const items = events
      .map((e) => {
        const cls = e.verdict === "valid" ? "ok" : e.verdict === "invalid" ? "bad" : "none"
        let pretty = e.body
        try {
          pretty = JSON.stringify(JSON.parse(e.body), null, 2)
        } catch {
          // Shown as it came.
        }
        const meta = [
          e.id ? `id <code>${escape(e.id)}</code>` : "no id",
          e.time ? `at ${escape(e.time)}` : null,
          e.subject ? `subject <code>${escape(e.subject)}</code>` : "no subject",
          `to <code>/receive/${escape(e.receiver)}</code>`,
          e.repeat ? "a repeat (same webhook-id as an earlier delivery)" : null,
        ]
          .filter(Boolean)
          .join(" · ")
        return `<article class="event ${cls}" data-id="${escape(e.id ?? "")}" data-verdict="${escape(e.verdict)}">
<header><h2>${escape(e.type ?? "(not a CloudEvent)")}</h2><span class="badge ${cls}">${escape(
          e.verdict === "valid"
            ? "✓ signature valid"
            : e.verdict === "invalid"
              ? "✗ signature invalid"
              : "? no secret known",
        )}</span></header>
<p class="meta">${meta}</p>${e.note ? `<p class="note">${escape(e.note)}</p>` : ""}
<details><summary>JSON</summary><pre>${escape(pretty)}</pre></details></article>`
      })
      .join("\n")
    return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Dev events · kratos-guard</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
h1{margin-bottom:.25rem}code{font:13px ui-monospace,monospace}.muted,.meta,.note{color:#6b7280}
table{border-collapse:collapse;margin:.5rem 0 1rem}td{padding:.25rem 1rem .25rem 0;border-bottom:1px solid #f3f4f6}
form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;background:#f9fafb;border:1px solid #e5e7eb;border-radius:10px;padding:.75rem 1rem}
label{display:flex;flex-direction:column;font-size:13px;color:#374151}input{font:14px ui-monospace,monospace;padding:.35rem .5rem;border:1px solid #d1d5db;border-radius:6px}
button{font:inherit;padding:.4rem .9rem;border-radius:6px;border:1px solid #1d4ed8;background:#2563eb;color:#fff;cursor:pointer}
.event{border:1px solid #e5e7eb;border-left-width:4px;border-radius:10px;padding:.75rem 1.25rem;margin:1rem 0}
.event.ok{border-left-color:#16a34a}.event.bad{border-left-color:#dc2626}.event.none{border-left-color:#9ca3af}
.event header{display:flex;justify-content:space-between;gap:1rem;align-items:baseline}
h2{font:600 1rem ui-monospace,monospace;margin:0}.meta{margin:.25rem 0}.note{margin:.25rem 0;font-size:13px}
.badge{font-size:13px;font-weight:600;padding:.1rem .6rem;border-radius:999px;white-space:nowrap}
.badge.ok{background:#dcfce7;color:#166534}.badge.bad{background:#fee2e2;color:#991b1b}.badge.none{background:#f3f4f6;color:#374151}
summary{cursor:pointer;color:#2563eb}pre{background:#f9fafb;border-radius:6px;padding:.75rem;overflow:auto;font-size:12.5px;margin:.5rem 0 0}
.problem{color:#991b1b;background:#fee2e2;padding:.5rem .75rem;border-radius:6px}</style>
</head><body><h1>Dev events</h1>
<p>Security events the service delivered to this machine's receiver, newest first, each checked with the
<code>standardwebhooks</code> verifier against its receiver's signing secret. Reload to refresh.</p>
${notice}<h3>Receivers</h3><table>${receivers || "<tr><td>None yet.</td></tr>"}</table>
<form method="post" action="${BASE}/secret"><label>Receiver name<input name="receiver" required pattern="[A-Za-z0-9][A-Za-z0-9_\\-]{0,39}" placeholder="mine" size="12"></label>
<label>Signing secret<input name="secret" required placeholder="whsec_…" size="46" autocomplete="off"></label>
<button type="submit">Check with this secret</button></form>
<p class="muted">To check a subscriber of your own, give it the URL <code>${escape(receiverUrl("<name>"))}</code> in the admin console and paste the secret it shows here.</p>
<h3>Delivered (${events.length})</h3>
${items || "<p>No events yet. Sign in, change a setting, or run <code>npm start -- --demo</code>.</p>"}
</body></html>`
  }

  const server = http.createServer((req, res) => {
    const raw = new URL(req.url ?? "/", "http://sink").pathname
    const path = raw.startsWith(BASE) ? raw.slice(BASE.length) || "/" : raw
    const receiveAt = /^\/receive(?:\/([^/]+))?\/?$/.exec(path)
    if (req.method === "POST" && receiveAt) {
      const name = receiveAt[1] ?? "default"
      if (!NAME.test(name)) {
        res.writeHead(404, { "content-type": "text/plain" }).end("no such receiver name")
        return
      }
      receive(req, res, name)
      return
    }
    if (req.method === "POST" && path === "/secret") return pasteSecret(req, res)
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, POST" }).end()
      return
    }
    if (path === "/events.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
      res.end(JSON.stringify(events))
      return
    }
    if (path !== "/") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found")
      return
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
    res.end(page())
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  port = (server.address() as AddressInfo).port

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    receiverUrl,
    events,
    setSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Asks the running service (outside production, with DEV_EVENTS_URL set) for the dev
 * receiver's subscriber, every event to `/receive/local`, and gives the sink its new secret.
 * Authenticated with the webhook API key, like `npm run admin`.
 */
export async function registerDevReceiver(o: {
  serviceUrl: string
  apiKey: string
  sink: EventSink
}): Promise<{ subscriberId: string; url: string }> {
  const res = await fetch(`${o.serviceUrl}/internal/dev/event-receiver`, {
    method: "POST",
    headers: { authorization: hookAuthorization(o.apiKey), "user-agent": "kratos-guard npm start" },
  })
  const body = (await res.json().catch(() => ({}))) as {
    subscriber_id?: string
    url?: string
    secret?: string
    error?: { message?: string }
  }
  if (!res.ok || !body.secret || !body.subscriber_id || !body.url)
    throw new Error(`the service refused (${res.status}): ${body.error?.message ?? res.statusText}`)
  o.sink.setSecret("local", body.secret, "the Local receiver (dev) subscriber, set by npm start")
  return { subscriberId: body.subscriber_id, url: body.url }
}

/** CLI: `tsx scripts/event-sink.ts [port]` runs the receiver as its own process. */
if (require.main === module) {
  const port = Number(process.argv[2] ?? 8026)
  startEventSink({ port })
    .then((s) => console.log(`event sink: receivers at ${s.receiverUrl("<name>")}, page ${s.url}`))
    .catch((err: Error) => {
      console.error(`event sink failed: ${err.message}`)
      process.exit(1)
    })
}

import http from "node:http"
import PostalMime from "postal-mime"
import { SMTPServer } from "smtp-server"

/**
 * A local SMTP sink with a small web inbox, for development and tests. It accepts any mail
 * on loopback, keeps the newest messages in memory and shows them at `/` (HTML) and
 * `/messages` (JSON). Not for production: compose uses Mailpit.
 */
export interface SinkMessage {
  id: number
  receivedAt: string
  from: string
  to: string[]
  subject: string
  text: string
  html: string | null
  messageId: string | null
}

export interface MailSink {
  smtpPort: number
  httpPort: number
  messages: SinkMessage[]
  close(): Promise<void>
}

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  )

export async function startMailSink(opts: {
  smtpPort: number
  httpPort: number
  keep?: number
  onMessage?: (m: SinkMessage) => void
}): Promise<MailSink> {
  const messages: SinkMessage[] = []
  let seq = 0
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    banner: "kratos-guard dev mail sink",
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on("data", (c: Buffer) => chunks.push(c))
      stream.on("end", () => {
        PostalMime.parse(Buffer.concat(chunks))
          .then((mail) => {
            const m: SinkMessage = {
              id: ++seq,
              receivedAt: new Date().toISOString(),
              from:
                mail.from?.address ??
                String(session.envelope.mailFrom && session.envelope.mailFrom.address),
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject ?? "(no subject)",
              text: mail.text ?? "",
              html: mail.html ?? null,
              messageId: mail.messageId ?? null,
            }
            messages.unshift(m)
            messages.length = Math.min(messages.length, opts.keep ?? 200)
            opts.onMessage?.(m)
            callback()
          })
          .catch((err: Error) => callback(err))
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject)
    smtp.listen(opts.smtpPort, "127.0.0.1", () => resolve())
  })
  // After listening, an error is one client's connection failing (a sender killed mid-message
  // resets it): the sink keeps serving everyone else.
  smtp.removeAllListeners("error")
  smtp.on("error", (err: Error) =>
    console.error(`mail sink: client connection error: ${err.message}`),
  )

  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://sink")
    if (url.pathname.endsWith("/messages")) {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(messages))
      return
    }
    const items = messages
      .map(
        (m) => `<article><h2>${escape(m.subject)}</h2>
<p class="meta">To ${escape(m.to.join(", "))} · from ${escape(m.from)} · ${escape(m.receivedAt)}</p>
<pre>${escape(m.text)}</pre></article>`,
      )
      .join("")
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" })
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Dev inbox · kratos-guard</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
article{border:1px solid #e5e7eb;border-radius:10px;padding:1rem 1.25rem;margin:1rem 0}
h2{font-size:1.05rem;margin:0}.meta{color:#6b7280;margin:.25rem 0 .75rem}pre{white-space:pre-wrap;margin:0}</style>
</head><body><h1>Dev inbox</h1><p>Mail sent on this machine by Kratos and kratos-guard. Newest first; reload to refresh.</p>
${items || "<p>No mail yet.</p>"}</body></html>`)
  })
  await new Promise<void>((resolve, reject) => {
    web.once("error", reject)
    web.listen(opts.httpPort, "127.0.0.1", () => resolve())
  })

  return {
    smtpPort: opts.smtpPort,
    httpPort: opts.httpPort,
    messages,
    close: async () => {
      await new Promise<void>((r) => smtp.close(() => r()))
      await new Promise<void>((r) => web.close(() => r()))
    },
  }
}

/** CLI: `tsx scripts/mail-sink.ts [smtpPort] [httpPort]` runs the sink as its own process. */
if (require.main === module) {
  const smtpPort = Number(process.argv[2] ?? 1025)
  const httpPort = Number(process.argv[3] ?? 8025)
  startMailSink({ smtpPort, httpPort })
    .then(() =>
      console.log(`mail sink: smtp 127.0.0.1:${smtpPort}, inbox http://127.0.0.1:${httpPort}`),
    )
    .catch((err: Error) => {
      console.error(`mail sink failed: ${err.message}`)
      process.exit(1)
    })
}

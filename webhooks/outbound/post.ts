import { lookup as dnsLookup, type LookupAddress } from "node:dns"
import http from "node:http"
import https from "node:https"
import type { LookupFunction } from "node:net"
import { addressAllowed, UnsafeUrlError, type UrlRules } from "./addresses"

/**
 * The one way the service sends HTTP to a URL an admin gave it (security event subscribers).
 * The address it connects to is checked at connection time, after DNS, so a name that
 * resolved to a public address at registration and to an internal one now is refused
 * (DNS rebinding); redirects are not followed; each request has a hard deadline; at most
 * 64 KiB of the answer is read.
 */
export interface PostResult {
  status: number
  /** The start of the answer's body, for an admin looking at a failure. */
  body: string
}

export interface Poster {
  post(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<PostResult>
  close(): void
}

const MAX_ANSWER = 64 * 1024

export function createPoster(rules: UrlRules): Poster {
  const checkedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, found) => {
      if (err) return callback(err, "", 0)
      const list = found as unknown as LookupAddress[]
      const refused = list.find((a) => !addressAllowed(a.address, rules.allowed))
      if (refused || list.length === 0) {
        const e = new UnsafeUrlError(
          `${hostname} resolves to ${refused?.address ?? "nothing"}, which is not allowed`,
        )
        return callback(e as NodeJS.ErrnoException, "", 0)
      }
      if ((options as { all?: boolean }).all) return callback(null, list as never)
      callback(null, list[0]!.address, list[0]!.family)
    })
  }
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: 64, lookup: checkedLookup } as never),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 64, lookup: checkedLookup } as never),
  }
  return {
    post(urlText, headers, body, timeoutMs) {
      return new Promise<PostResult>((resolve, reject) => {
        let url: URL
        try {
          url = new URL(urlText)
        } catch {
          return reject(new UnsafeUrlError("not a URL"))
        }
        const scheme = url.protocol as "http:" | "https:"
        if (scheme !== "https:" && !(scheme === "http:" && rules.allowHttp)) {
          return reject(new UnsafeUrlError(`${url.protocol} is not allowed`))
        }
        // An IP literal is connected to without a lookup: it is checked here instead.
        const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
        if (/^[\d.]+$|:/.test(host) && !addressAllowed(host, rules.allowed)) {
          return reject(new UnsafeUrlError(`${host} is not an allowed address`))
        }
        const transport = scheme === "https:" ? https : http
        const req = transport.request(url, {
          method: "POST",
          agent: agents[scheme],
          lookup: checkedLookup,
          headers: {
            ...headers,
            "content-length": String(Buffer.byteLength(body)),
            "user-agent": "kratos-guard-events/1",
          },
        })
        const deadline = setTimeout(() => {
          req.destroy(new Error(`no answer within ${timeoutMs} ms`))
        }, timeoutMs)
        req.on("response", (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on("data", (c: Buffer) => {
            if (size < MAX_ANSWER) chunks.push(c.subarray(0, MAX_ANSWER - size))
            size += c.length
          })
          res.on("end", () => {
            clearTimeout(deadline)
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })
          })
          res.on("error", (e) => {
            clearTimeout(deadline)
            reject(e)
          })
        })
        req.on("error", (e) => {
          clearTimeout(deadline)
          reject(e)
        })
        req.end(body)
      })
    },
    close() {
      agents["http:"].destroy()
      agents["https:"].destroy()
    },
  }
}

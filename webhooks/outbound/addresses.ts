import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"

/**
 * Which network addresses the service may send security events to. A subscriber URL is an
 * admin's input, and the service sits inside the operator's network: without this check it
 * would POST, on request, to loopback, the cloud metadata endpoint or any internal host.
 *
 * Refused unless allow-listed (EVENT_SUBSCRIBER_ALLOWED_NETWORKS, CIDRs): loopback,
 * unspecified, private (RFC 1918, unique local), carrier-grade NAT, link-local (the metadata
 * address 169.254.169.254 among them), multicast, reserved and documentation ranges, and the
 * IPv4-mapped and NAT64 spellings of any of these.
 */
const REFUSED: [string, number, "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.0.2.0", 24, "ipv4"],
  ["192.88.99.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"],
  ["198.51.100.0", 24, "ipv4"],
  ["203.0.113.0", 24, "ipv4"],
  ["224.0.0.0", 4, "ipv4"],
  ["240.0.0.0", 4, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["64:ff9b::", 96, "ipv6"],
  ["64:ff9b:1::", 48, "ipv6"],
  ["100::", 64, "ipv6"],
  ["2001::", 23, "ipv6"],
  ["2001:db8::", 32, "ipv6"],
  ["2002::", 16, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
  ["fec0::", 10, "ipv6"],
  ["ff00::", 8, "ipv6"],
]

const refused = new BlockList()
for (const [net, prefix, type] of REFUSED) refused.addSubnet(net, prefix, type)

/** Parses `10.0.0.0/8, 127.0.0.1, ::1/128` into a list; throws on a malformed entry. */
export function parseNetworks(text: string): BlockList {
  const list = new BlockList()
  for (const raw of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits, extra] = raw.split("/")
    const type = isIP(addr ?? "")
    if (extra !== undefined || type === 0) throw new Error(`not an address or CIDR: ${raw}`)
    const max = type === 4 ? 32 : 128
    const prefix = bits === undefined ? max : Number(bits)
    if (!/^\d+$/.test(bits ?? String(max)) || prefix < 0 || prefix > max) {
      throw new Error(`not an address or CIDR: ${raw}`)
    }
    list.addSubnet(addr!, prefix, type === 4 ? "ipv4" : "ipv6")
  }
  return list
}

/** The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 IPv6 address stands for. */
function embeddedIpv4(address: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(
    address,
  )
  if (!m) return null
  if (m[1]) return m[1]
  const hi = parseInt(m[2]!, 16)
  const lo = parseInt(m[3]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/** Whether an address may be sent to: public, or inside the allow-list. */
export function addressAllowed(address: string, allowed: BlockList | null): boolean {
  const type = isIP(address)
  if (type === 0) return false
  const family = type === 4 ? "ipv4" : "ipv6"
  const v4 = family === "ipv6" ? embeddedIpv4(address) : null
  if (allowed && (allowed.check(address, family) || (v4 && allowed.check(v4, "ipv4")))) return true
  if (refused.check(address, family)) return false
  if (v4 && refused.check(v4, "ipv4")) return false
  return true
}

export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "UnsafeUrlError"
  }
}

export interface UrlRules {
  /** http:// allowed too (local development and tests); otherwise https:// only. */
  allowHttp: boolean
  /** Networks allowed despite being private, loopback or link-local. */
  allowed: BlockList | null
}

/** The host of a URL as an IP literal, without IPv6 brackets; null for a name. */
function literalHost(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  return isIP(host) ? host : null
}

/**
 * Checks a subscriber URL: its shape (https, no credentials, no fragment), and every address
 * its host resolves to now. The sender checks the address it connects to again on every
 * delivery (a name may resolve elsewhere later), so this check alone is no promise.
 */
export async function checkSubscriberUrl(text: string, rules: UrlRules): Promise<URL> {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UnsafeUrlError("is not a URL")
  }
  if (url.protocol !== "https:" && !(rules.allowHttp && url.protocol === "http:")) {
    throw new UnsafeUrlError(rules.allowHttp ? "must be an http(s) URL" : "must be an https URL")
  }
  if (url.username || url.password) throw new UnsafeUrlError("must not carry credentials")
  if (url.hash) throw new UnsafeUrlError("must not have a fragment")
  const literal = literalHost(url)
  const addresses = literal
    ? [literal]
    : await lookup(url.hostname, { all: true, verbatim: true })
        .then((list) => list.map((a) => a.address))
        .catch(() => {
          throw new UnsafeUrlError(`host ${url.hostname} does not resolve`)
        })
  for (const address of addresses) {
    if (!addressAllowed(address, rules.allowed)) {
      throw new UnsafeUrlError(
        `resolves to ${address}, a loopback, private or link-local address that is not allow-listed`,
      )
    }
  }
  return url
}

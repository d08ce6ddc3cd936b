import UAParser from "ua-parser-js"

/**
 * What a User-Agent says about the device: browser family and OS, without versions, so a
 * browser update is not a "new device". Falls back to the raw string when nothing is known.
 */
export function deviceFingerprint(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? "").trim()
  if (!ua) return ""
  const r = new UAParser(ua).getResult()
  const browser = r.browser.name ?? ""
  const os = r.os.name ?? ""
  return browser || os ? `${browser}|${os}` : `raw:${ua}`
}

/** A short human name for the device, e.g. "Chrome on macOS"; null when nothing is known. */
export function deviceName(userAgent: string | null | undefined): string | null {
  const ua = (userAgent ?? "").trim()
  if (!ua) return null
  const r = new UAParser(ua).getResult()
  const browser = r.browser.name
  const os = r.os.name === "Mac OS" ? "macOS" : r.os.name
  if (browser && os) return `${browser} on ${os}`
  if (browser || os) return (browser ?? os)!
  return ua.length > 80 ? `${ua.slice(0, 77)}...` : ua
}

import type { RequestHandler } from "express"
import helmet from "helmet"
import { isIP } from "node:net"
import { AppError } from "../errors"

/**
 * Paths called by machines rather than browsers, under whatever host name the deployment gives
 * the service: Kratos's web_hooks and the operator's CLI (both carry the API key), health
 * checks (compose probes 127.0.0.1, Kubernetes the pod address) and the gate, which a reverse
 * proxy asks as an auth sub-request under the service's internal name.
 */
const ANY_HOST_PATHS = ["/hooks/", "/internal/", "/health/"]
const ANY_HOST_ROUTES = ["/api/auth/gate"]

/** `host[:port]` as the URL parser writes it (lower case, default port dropped); null if invalid. */
function canonicalHost(host: string, protocol: string): string | null {
  if (!host || /[/?#@\\\s]/.test(host)) return null
  try {
    return new URL(`${protocol}//${host}`).host
  } catch {
    return null
  }
}

function isLoopbackLiteral(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.split(":")[0]!
  if (isIP(name) === 4) return name.startsWith("127.")
  return name === "::1"
}

/**
 * Browser-facing requests must name the configured public origin in `Host` (or in
 * `X-Forwarded-Host` from a trusted proxy): a DNS-rebinding page reaches the service under the
 * attacker's host name and is answered 421. IP literals of the loopback interface pass too:
 * DNS cannot rebind them, and local tools and in-process tests connect that way.
 */
export function requirePublicHost(publicUrl: string): RequestHandler {
  const url = new URL(publicUrl)
  const expected = url.host
  return (req, _res, next) => {
    if (ANY_HOST_PATHS.some((p) => req.path.startsWith(p)) || ANY_HOST_ROUTES.includes(req.path))
      return next()
    const host = canonicalHost(req.host ?? "", url.protocol)
    if (host !== null && (host === expected || isLoopbackLiteral(host))) return next()
    next(new AppError("MISDIRECTED_REQUEST", "this service does not answer for that host name"))
  }
}

/**
 * Response headers for every answer, the proxied Kratos ones included: a CSP without inline
 * scripts (the UI bundle and Kratos's webauthn.js are same-origin files; elements-react calls
 * the WebAuthn functions through `window`, not inline handlers), no framing, no MIME sniffing,
 * no referrer to other origins, and HSTS only when the public origin is https.
 */
export function securityHeaders(publicUrl: string): RequestHandler {
  const https = publicUrl.startsWith("https://")
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        // React and elements-react set style attributes.
        styleSrc: ["'self'", "'unsafe-inline'"],
        // The TOTP QR code is a data: image.
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: "same-origin" },
    xFrameOptions: { action: "deny" },
  })
}

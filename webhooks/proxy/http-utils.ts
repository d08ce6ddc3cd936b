import type { IncomingHttpHeaders } from "node:http"

/**
 * How Kratos will format its answer to a request (`x.IsJSONRequest`), so a refusal by the proxy
 * is answered in the same shape, and URLs made fit for a log line.
 */

const OFFERS = ["text/html", "text/*", "*/*", "application/json"]

/**
 * Kratos's `x.IsJSONRequest`: content negotiation of `Accept` over text/html, text/*, *\/* and
 * application/json (golang/gddo `NegotiateContentType`, default text/html), or a Content-Type
 * of exactly `application/json`. Kratos answers such requests (and every API flow) with JSON;
 * browser form posts get redirects.
 */
export function isJsonRequest(headers: IncomingHttpHeaders): boolean {
  return (
    headers["content-type"] === "application/json" ||
    negotiate(headers.accept) === "application/json"
  )
}

function negotiate(accept: string | undefined): string {
  const specs = (accept ?? "")
    .split(",")
    .map((part) => {
      const [value = "", ...params] = part.split(";").map((p) => p.trim())
      let q = 1
      for (const p of params) {
        const m = /^q=([0-9.]+)$/i.exec(p)
        if (m) q = Number(m[1])
      }
      return { value: value.toLowerCase(), q: Number.isFinite(q) ? q : 0 }
    })
    .filter((s) => s.value !== "")
  let bestOffer = "text/html"
  let bestQ = -1
  let bestWild = 3
  for (const offer of OFFERS) {
    for (const spec of specs) {
      if (spec.q === 0 || spec.q < bestQ) continue
      if (spec.value === "*/*") {
        if (spec.q > bestQ || bestWild > 2) {
          ;[bestQ, bestWild, bestOffer] = [spec.q, 2, offer]
        }
      } else if (spec.value.endsWith("/*")) {
        if (offer.startsWith(spec.value.slice(0, -1)) && (spec.q > bestQ || bestWild > 1)) {
          ;[bestQ, bestWild, bestOffer] = [spec.q, 1, offer]
        }
      } else if (spec.value === offer && (spec.q > bestQ || bestWild > 0)) {
        ;[bestQ, bestWild, bestOffer] = [spec.q, 0, offer]
      }
    }
  }
  return bestOffer
}

const SECRET_PARAM = /pass|secret|token|code|totp|lookup|csrf|key/i

/**
 * The URL for a log line: values of query parameters that can carry a secret (a password or
 * TOTP code submitted to a settings GET, a logout token, an emailed verification code) are
 * replaced; everything else is kept.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?")
  if (q < 0 || !SECRET_PARAM.test(url.slice(q))) return url
  const pairs = url
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=")
      if (eq < 0) return pair
      const name = pair.slice(0, eq)
      let decoded = name
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "))
      } catch {
        // keep the raw name for the test below
      }
      return SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair
    })
  return `${url.slice(0, q)}?${pairs.join("&")}`
}

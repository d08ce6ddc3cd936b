import { createHmac, randomBytes } from "node:crypto"

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is `whsec_`
 * and base64 of 32 random bytes; a signature is `v1,` and base64 of HMAC-SHA256, keyed with
 * the decoded secret, over `${webhook-id}.${webhook-timestamp}.${body}`. During a rotation
 * the header carries one signature per secret, space-separated, and a receiver accepts the
 * message when any one verifies.
 */

const PREFIX = "whsec_"

export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString("base64")
}

export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(
    secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret,
    "base64",
  )
  const mac = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")
  return `v1,${mac}`
}

/** The three Standard Webhooks headers of one attempt (the timestamp is the attempt's). */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    "content-type": "application/cloudevents+json; charset=utf-8",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": secrets.map((s) => signature(s, id, timestamp, body)).join(" "),
  }
}

import { z } from "zod"

/**
 * An id from a path, query or body, in its one canonical spelling: a hyphenated UUID in lower
 * case. Kratos (gofrs/uuid) and Postgres accept any case, and Kratos also takes braces,
 * `urn:uuid:` and 32 bare hex digits, so a comparison of the strings as sent ("is this the
 * caller?") could be spelled around. Upper and mixed case are lower-cased here; every other
 * spelling is refused with 400, so what a handler compares, looks up and audits is the same
 * string Kratos hands out as the id.
 */
export function canonicalId(what: string) {
  return z.uuid(`${what} must be a UUID`).transform((id) => id.toLowerCase())
}

export const identityId = canonicalId("user id")
export const sessionId = canonicalId("session id")
export const notificationId = canonicalId("notification id")
export const subscriberId = canonicalId("subscriber id")
export const deliveryId = canonicalId("delivery id")

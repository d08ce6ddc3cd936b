import { createHash, timingSafeEqual } from "node:crypto"
import type { RequestHandler } from "express"
import { AppError } from "../errors"

/**
 * How a caller presents the API key: `Authorization: Bearer <key>`. Kratos's own request log
 * ("Dispatching webhook", at info level) prints every header of a web_hook call except
 * Authorization, Cookie and X-Session-Token, so the key travels in Authorization.
 */
export const hookAuthorization = (key: string) => `Bearer ${key}`

/**
 * Constant-time check of the API key Kratos sends on every web_hook call. Both sides are
 * hashed first so the comparison takes the same time whatever the length of the input.
 */
export function requireHookKey(expected: string): RequestHandler {
  const want = createHash("sha256").update(hookAuthorization(expected)).digest()
  return (req, _res, next) => {
    const got = req.get("authorization") ?? ""
    const have = createHash("sha256").update(got).digest()
    if (got.length === 0 || !timingSafeEqual(have, want)) {
      return next(new AppError("UNAUTHORIZED", "missing or invalid webhook API key"))
    }
    next()
  }
}

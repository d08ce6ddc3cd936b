import { createHash, timingSafeEqual } from "node:crypto"
import type { RequestHandler } from "express"
import { AppError } from "../errors"

export const HOOK_KEY_HEADER = "x-kratos-guard-key"

/**
 * Constant-time check of the API key Kratos sends on every web_hook call. Both sides are
 * hashed first so the comparison takes the same time whatever the length of the input.
 */
export function requireHookKey(expected: string): RequestHandler {
  const want = createHash("sha256").update(expected).digest()
  return (req, _res, next) => {
    const got = req.get(HOOK_KEY_HEADER) ?? ""
    const have = createHash("sha256").update(got).digest()
    if (got.length === 0 || !timingSafeEqual(have, want)) {
      return next(new AppError("UNAUTHORIZED", "missing or invalid webhook API key"))
    }
    next()
  }
}

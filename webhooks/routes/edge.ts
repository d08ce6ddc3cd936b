import type { Request } from "express"
import type { z } from "zod"
import type { Actor } from "../domain/force-password-change"
import { AppError } from "../errors"

/** Parses with zod and turns a failure into one readable 400. */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  const first = r.error.issues[0]
  throw new AppError(
    "BAD_REQUEST",
    `invalid ${what}: ${first?.path.join(".") || "body"} ${first?.message ?? ""}`.trim(),
  )
}

/** Who made this request, for the audit trail: the identity, and the request's own marks. */
export function actorOf(req: Request, id: string, email: string | null = null): Actor {
  return {
    id,
    email,
    ip: req.ip ?? null,
    userAgent: req.get("user-agent") ?? null,
    requestId: String(req.id),
  }
}

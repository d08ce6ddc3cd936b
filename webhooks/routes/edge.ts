import type { Request, RequestHandler, Response } from "express"
import type { z } from "zod"
import type { Deps } from "../app"
import type { AdminActor } from "../domain/admin-users"
import type { Actor } from "../domain/force-password-change"
import { AppError } from "../errors"
import {
  adminRoleOf,
  requireAdmin,
  requireCsrfProtection,
  requireSession,
  sessionOf,
} from "../middleware/session"

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

/** What every admin route runs first: the CSRF check, a session, an admin at AAL2. */
export function adminGuard(deps: Deps): RequestHandler[] {
  const { config, database, kratos, kratosPublic } = deps
  return [
    requireCsrfProtection(config.PUBLIC_URL),
    requireSession(kratosPublic),
    requireAdmin({ database, kratos, publicUrl: config.PUBLIC_URL }),
  ]
}

/** The admin behind a request that passed adminGuard, for the use cases and the trail. */
export function adminOf(req: Request): AdminActor {
  return { ...actorOf(req, sessionOf(req).identity!.id), type: "admin", role: adminRoleOf(req) }
}

/**
 * Sends an `/api` answer as its schema (routes/answers.ts) reads it, in every environment: a
 * field the schema doesn't name never leaves the service, and a mismatch is an error (500),
 * so every test that calls a route checks its contract.
 */
export function reply<S extends z.ZodType>(
  res: Response,
  schema: S,
  value: z.input<S>,
  status = 200,
): void {
  const r = schema.safeParse(value)
  if (!r.success) {
    const first = r.error.issues[0]
    throw new Error(
      `answer does not match its schema at ${first?.path.join(".") || "(root)"}: ${first?.message}`,
    )
  }
  res.status(status).json(r.data)
}

import type { Router } from "express"
import { z } from "zod"
import type { Deps } from "../app"
import { parseOr400 } from "./edge"
import { roles } from "../policy/roles"
import { setRoleByEmail } from "../domain/roles"
import { ensureDevReceiver } from "../domain/security-events/dev-receiver"
import { subscriberUrlRules } from "./event-routes"

const grantBody = z
  .object({
    email: z.email().max(320),
    role: z.enum(roles),
    /**
     * When the person really took the role (moving people over from another directory). Only a
     * past time: it can start a 2FA grace period earlier, never extend one.
     */
    assigned_at: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .refine((d) => d.getTime() <= Date.now(), "must not be in the future")
      .optional(),
  })
  .strict()

/**
 * Operator commands (`npm run admin`), authenticated with the webhook API key, which only the
 * operator and Kratos hold. They go through the service because only it may open the
 * database (PGlite allows one process). Audited with actor `system`.
 */
export function registerInternalRoutes(router: Router, deps: Deps): void {
  router.post("/internal/roles", async (req, res) => {
    const { email, role, assigned_at } = parseOr400(grantBody, req.body, "body")
    const { identityId, ...result } = await setRoleByEmail(
      deps,
      {
        type: "system",
        id: null,
        role: null,
        ip: req.ip ?? null,
        userAgent: req.get("user-agent") ?? null,
        requestId: String(req.id),
      },
      email,
      role,
      assigned_at,
    )
    res.json({ identity_id: identityId, email, ...result })
  })

  if (deps.config.DEV_EVENTS_URL && deps.config.NODE_ENV !== "production") {
    // npm start's local event receiver (scripts/event-sink.ts): its subscriber, for every
    // event, with a fresh signing secret the answer hands to the receiver. Development only.
    const url = new URL("/receive/local", deps.config.DEV_EVENTS_URL).toString()
    const urlRules = subscriberUrlRules(deps.config)
    router.post("/internal/dev/event-receiver", async (req, res) => {
      parseOr400(z.object({}).strict(), req.body ?? {}, "body")
      const done = await ensureDevReceiver(
        { database: deps.database, urlRules },
        {
          ip: req.ip ?? null,
          userAgent: req.get("user-agent") ?? null,
          requestId: String(req.id),
        },
        url,
      )
      res.status(done.created ? 201 : 200).json({
        subscriber_id: done.subscriberId,
        url: done.url,
        secret: done.secret,
      })
    })
  }
}

import type { Router } from "express"
import { z } from "zod"
import {
  hookPhases,
  loginHookBody,
  loginMethods,
  registrationHookBody,
  registrationMethods,
  settingsHookBody,
  settingsMethods,
} from "../../kratos/hooks/bodies"
import type { Deps } from "../app"
import { recordHookDelivery } from "../domain/hook-deliveries"
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

const settingsParams = z.object({ method: z.enum(settingsMethods), phase: z.enum(hookPhases) })
const loginParams = z.object({ method: z.enum(loginMethods) })
const registrationParams = z.object({
  method: z.enum(registrationMethods),
  phase: z.enum(hookPhases),
})

/**
 * Kratos web_hook endpoints, one URL per flow, method and phase (Kratos does not tell a hook
 * which method it runs for). Each records what it received; a parse:true hook answers `{}`
 * (no identity change), a parse:false one 204.
 */
export function registerHookRoutes(router: Router, { database }: Deps): void {
  router.post("/hooks/settings/:method/:phase", async (req, res) => {
    const { method, phase } = parseOr400(settingsParams, req.params, "hook path")
    const body = parseOr400(settingsHookBody, req.body, "settings hook body")
    await recordHookDelivery(database.db, {
      hook: `settings.${method}.${phase}`,
      flowId: body.flow_id,
      identityId: body.identity_id,
      payload: body,
      requestId: String(req.id),
    })
    if (phase === "pre") res.json({})
    else res.status(204).end()
  })

  router.post("/hooks/login/:method", async (req, res) => {
    const { method } = parseOr400(loginParams, req.params, "hook path")
    const body = parseOr400(loginHookBody, req.body, "login hook body")
    await recordHookDelivery(database.db, {
      hook: `login.${method}`,
      flowId: body.flow_id,
      identityId: body.identity_id,
      payload: body,
      requestId: String(req.id),
    })
    res.json({})
  })

  router.post("/hooks/registration/:method/:phase", async (req, res) => {
    const { method, phase } = parseOr400(registrationParams, req.params, "hook path")
    const body = parseOr400(registrationHookBody, req.body, "registration hook body")
    await recordHookDelivery(database.db, {
      hook: `registration.${method}.${phase}`,
      flowId: body.flow_id,
      identityId: body.identity_id,
      payload: body,
      requestId: String(req.id),
    })
    if (phase === "pre") res.json({})
    else res.status(204).end()
  })
}

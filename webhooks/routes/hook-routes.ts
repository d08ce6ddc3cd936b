import type { Response, Router } from "express"
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
import { gateCache } from "../domain/gate-cache"
import { deliveryShape, recordHookDelivery } from "../domain/hook-deliveries"
import { rememberPasswordAfterChange, sharedRead } from "../domain/password-history"
import type { ChangeDeps } from "../domain/hook-trail"
import { recordLogin } from "../domain/login"
import { recordRegistration, registrationMetadata } from "../domain/registration"
import { afterSettingsChange, beforeSettingsChange } from "../domain/settings-change"
import type { Refusal } from "../domain/settings-rules"
import { kratosMessages } from "../errors"
import { parseOr400 } from "./edge"

const settingsParams = z.object({ method: z.enum(settingsMethods), phase: z.enum(hookPhases) })
const loginParams = z.object({ method: z.enum(loginMethods) })
const registrationParams = z.object({
  method: z.enum(registrationMethods),
  phase: z.enum(hookPhases),
})

/** A refusal Kratos shows in the flow; 403 is a 4xx Kratos does not retry. */
function refuse(res: Response, r: Refusal): void {
  res.status(403).json(kratosMessages(r.text, r.id, r.pointer))
}

/**
 * Kratos web_hook endpoints, one URL per flow, method and phase (Kratos does not tell a hook
 * which method it runs for). Every call is recorded as received, then handed to the domain:
 * pre-persist hooks may refuse a change and answer the authorization state Kratos persists
 * with it, post-persist hooks confirm it into the audit trail.
 */
export function registerHookRoutes(router: Router, deps: Deps): void {
  const { database, config } = deps
  const changes: ChangeDeps = {
    database,
    kratos: deps.kratos,
    log: deps.log,
    maxPasswordChangesPerHour: config.PASSWORD_CHANGES_PER_HOUR,
    publicUrl: config.PUBLIC_URL,
  }
  const history = { database, kratos: deps.kratos, log: deps.log, size: config.PASSWORD_HISTORY }
  const record = (
    hook: string,
    flowId: string,
    identityId: string | null,
    body: Parameters<typeof deliveryShape>[0],
    id: string,
  ) =>
    recordHookDelivery(database.db, {
      hook,
      flowId,
      identityId,
      payload: deliveryShape(body),
      requestId: id,
    })

  router.post("/hooks/settings/:method/:phase", async (req, res) => {
    const { method, phase } = parseOr400(settingsParams, req.params, "hook path")
    const body = parseOr400(settingsHookBody, req.body, "settings hook body")
    gateCache.changing(body.identity_id)
    const requestId = String(req.id)
    const received = record(
      `settings.${method}.${phase}`,
      body.flow_id,
      body.identity_id,
      body,
      requestId,
    )
    if (phase === "pre") {
      const [answer] = await Promise.all([
        beforeSettingsChange(changes, method, body, requestId),
        received,
      ])
      if ("refusal" in answer) return refuse(res, answer.refusal)
      // Kratos persists these with the change, in place of the copy it loaded.
      res.json({ identity: answer.identity })
    } else {
      // A password change reads the identity once, for the audit entry and the history.
      const shared = method === "password" ? sharedRead(deps.kratos, body.identity_id) : null
      await Promise.all([
        afterSettingsChange(
          shared ? { ...changes, kratos: shared.kratos } : changes,
          method,
          body,
          requestId,
        ),
        received,
        // The hash Kratos has just stored joins the password history.
        shared ? rememberPasswordAfterChange(history, body.identity_id, shared.passwordHash) : null,
      ])
      res.status(204).end()
    }
  })

  router.post("/hooks/login/:method", async (req, res) => {
    const { method } = parseOr400(loginParams, req.params, "hook path")
    const body = parseOr400(loginHookBody, req.body, "login hook body")
    gateCache.changing(body.identity_id)
    const requestId = String(req.id)
    await record(`login.${method}`, body.flow_id, body.identity_id, body, requestId)
    const refusal = await recordLogin(changes, method, body, requestId)
    if (refusal) return refuse(res, refusal)
    res.json({})
  })

  router.post("/hooks/registration/:method/:phase", async (req, res) => {
    const { method, phase } = parseOr400(registrationParams, req.params, "hook path")
    const body = parseOr400(registrationHookBody, req.body, "registration hook body")
    const requestId = String(req.id)
    await record(`registration.${method}.${phase}`, body.flow_id, body.identity_id, body, requestId)
    if (phase === "pre") {
      res.json({ identity: { metadata_public: registrationMetadata(body) } })
    } else {
      await recordRegistration(changes, method, body, requestId)
      res.status(204).end()
    }
  })
}

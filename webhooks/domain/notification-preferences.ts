import type { Database } from "../../db/client"
import { readPreferences, writePreferences } from "../data/notification-preferences"
import { AppError } from "../errors"
import {
  personNotificationKinds,
  type PersonNotificationKind,
} from "../policy/notification-choices"
import { appendAudit, ownChange } from "./audit"
import type { Actor } from "./force-password-change"
import { getOrgPolicy } from "./org-policy"

/**
 * A person's choice of the security mails about their own account. A mail the organisation
 * makes mandatory is sent whatever the person chose (and can't be switched off here); mails to
 * a manager or the security team are not listed at all. The choice is applied where mail is
 * queued (data/outbox.ts), in the transaction of the audit entry it reports.
 */

export interface NotificationSetting {
  kind: PersonNotificationKind
  enabled: boolean
  mandatory: boolean
}

export async function myNotificationSettings(
  database: Database,
  identityId: string,
): Promise<NotificationSetting[]> {
  const [prefs, policy] = await Promise.all([
    readPreferences(database.db, identityId),
    getOrgPolicy(database.db),
  ])
  const off = new Set(prefs.filter((p) => !p.enabled).map((p) => p.kind))
  return personNotificationKinds.map((kind) => {
    const mandatory = policy.mandatoryNotifications.includes(kind)
    return { kind, mandatory, enabled: mandatory || !off.has(kind) }
  })
}

/**
 * Switches mails on or off; one audit entry lists what changed (nothing changed: no entry).
 * Switching a mandatory mail off is refused (409) and changes nothing.
 */
export async function changeMyNotificationSettings(
  database: Database,
  actor: Actor,
  changes: Partial<Record<PersonNotificationKind, boolean>>,
): Promise<NotificationSetting[]> {
  await database.db.transaction(async (tx) => {
    const policy = await getOrgPolicy(tx)
    const refused = Object.entries(changes).filter(
      ([kind, on]) => !on && policy.mandatoryNotifications.includes(kind as PersonNotificationKind),
    )
    if (refused.length > 0) {
      throw new AppError(
        "CONFLICT",
        `your organisation requires these emails: ${refused.map(([k]) => k).join(", ")}`,
        { reason: "notification_mandatory" },
      )
    }
    const before = new Map(
      (await readPreferences(tx, actor.id)).map((p) => [p.kind, p.enabled] as const),
    )
    const changed = Object.entries(changes).filter(
      ([kind, on]) => (before.get(kind) ?? true) !== on,
    ) as [PersonNotificationKind, boolean][]
    if (changed.length === 0) return
    await writePreferences(
      tx,
      actor.id,
      changed.map(([kind, enabled]) => ({ kind, enabled })),
    )
    await appendAudit(tx, {
      event: "auth.notification_settings_changed",
      ...ownChange(actor),
      posture: {},
      details: { changed: Object.fromEntries(changed) },
      dedupKey: `notification_settings:${actor.requestId}`,
    })
  })
  return myNotificationSettings(database, actor.id)
}

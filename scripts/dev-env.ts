/**
 * The service settings `npm start` runs with, so a local stack shows every feature: the
 * security team's mails go to an address whose mail lands in the dev inbox like all the rest,
 * and security events may go to the local event receiver on loopback. The demo's browser test
 * starts its stack with the same settings.
 */
export const DEV_SECURITY_TEAM = "security-team@kratos-guard.local"

/** The loopback network the local event receiver listens on (scripts/event-sink.ts). */
export const DEV_EVENTS_NETWORK = "127.0.0.1/32"

export function devServiceEnv(
  o: { mailUrl?: string; eventsUrl?: string; allowedNetworks?: string } = {},
): Record<string, string> {
  const allowed = [o.allowedNetworks, o.eventsUrl ? DEV_EVENTS_NETWORK : undefined]
    .map((n) => n?.trim())
    .filter(Boolean)
  return {
    LOG_LEVEL: "info",
    SECURITY_TEAM_EMAILS: DEV_SECURITY_TEAM,
    ...(o.mailUrl ? { DEV_MAIL_URL: o.mailUrl } : {}),
    ...(o.eventsUrl ? { DEV_EVENTS_URL: o.eventsUrl } : {}),
    ...(allowed.length > 0 ? { EVENT_SUBSCRIBER_ALLOWED_NETWORKS: allowed.join(",") } : {}),
  }
}

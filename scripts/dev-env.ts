/**
 * The service settings `npm start` runs with, so a local stack shows every feature: the
 * security team's mails go to an address whose mail lands in the dev inbox like all the rest.
 * The demo's browser test starts its stack with the same settings.
 */
export const DEV_SECURITY_TEAM = "security-team@kratos-guard.local"

export function devServiceEnv(devMailUrl?: string): Record<string, string> {
  return {
    LOG_LEVEL: "info",
    SECURITY_TEAM_EMAILS: DEV_SECURITY_TEAM,
    ...(devMailUrl ? { DEV_MAIL_URL: devMailUrl } : {}),
  }
}

import type { OryClientConfiguration } from "@ory/elements-react"
import { disabledAccountMiddleware } from "./disabled-account"
import { handedOverWording, signupWording, wording } from "./wording"

// The service proxies Kratos public on the UI's own origin, so the SDK talks to wherever the
// page was loaded from and the CSRF/session cookies stay first-party.
// On the server (ui/src/server-render.tsx) it is the public URL's, which the service renders
// pages for only when they are asked for on that origin.
export const origin =
  typeof window === "undefined"
    ? ((globalThis as { kratosGuardOrigin?: string }).kratosGuardOrigin ?? "")
    : window.location.origin

export const uiUrls = {
  login: "/login",
  registration: "/registration",
  recovery: "/recovery",
  verification: "/verification",
  error: "/error",
  settings: "/settings",
  afterLogin: "/settings?tab=security",
} as const

export const oryConfig: OryClientConfiguration = {
  sdk: {
    url: origin,
    options: { credentials: "include", middleware: [disabledAccountMiddleware] },
  },
  project: {
    name: "kratos-guard",
    default_redirect_url: origin + uiUrls.afterLogin,
    error_ui_url: origin + uiUrls.error,
    login_ui_url: origin + uiUrls.login,
    registration_ui_url: origin + uiUrls.registration,
    recovery_ui_url: origin + uiUrls.recovery,
    verification_ui_url: origin + uiUrls.verification,
    settings_ui_url: origin + uiUrls.settings,
    registration_enabled: true,
    recovery_enabled: true,
    verification_enabled: true,
    hide_ory_branding: true,
  },
  intl: { locale: "en", customTranslations: { en: wording } },
}

/** The sign-up page's: its password is one being chosen. */
export const signupConfig: OryClientConfiguration = {
  ...oryConfig,
  intl: { locale: "en", customTranslations: { en: { ...wording, ...signupWording } } },
}

/** The recovery page when its code was handed over with the link, not mailed (codeHandedOver). */
export const handedOverConfig: OryClientConfiguration = {
  ...oryConfig,
  intl: { locale: "en", customTranslations: { en: { ...wording, ...handedOverWording } } },
}

/**
 * Our words for elements-react's English texts that read wrong for this product (a typo, a
 * vendor named as if we recommended it, "digit" for codes that have letters too, Ory's
 * "Reauthenticate" where the Security page says "Verify it's you"). Elements merges these over
 * its own table by message id (config.intl.customTranslations); ids not listed keep its text.
 */
export const wording: Record<string, string> = {
  "two-step.passkey.description": "Use your fingerprint, face or screen lock",
  // Kratos's recovery codes are 8 letters and digits.
  "two-step.lookup_secret.description": "Use one of the recovery codes you saved; each works once",
  "login.lookup_secret.subtitle": "Enter one of the 8-character recovery codes you saved",
  "two-step.totp.title": "Authenticator app",
  "login.title-refresh": "Verify it's you",
  "login.subtitle-refresh": "Sign in again with {parts} to continue",
  "login.webauthn.subtitle": "Have your security key ready",
  "card.header.parts.passkey": "a passkey",
  "forms.label.forgot-password": "Forgot password?",
  "login.logout-button": "Sign out",
  "settings.totp.description":
    "Get a 6-digit code at each sign-in from an authenticator app on your phone, such as Google Authenticator, Microsoft Authenticator or 1Password.",
}

/** On the sign-up form: the password is one the person chooses now, not one they have. */
export const signupWording: Record<string, string> = {
  "two-step.password.description": "Choose a password for this account",
}

/** On a recovery link an administrator handed over with its code: no email was sent. */
export const handedOverWording: Record<string, string> = {
  "identities.messages.1060003":
    "Enter the one-time recovery code you were given with this link. It works once; then you choose your password.",
}

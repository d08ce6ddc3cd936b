import { z } from "zod"

/**
 * The password composition policy, shared by the Security page (live hints under the field)
 * and the service's Kratos proxy (which refuses a weak password before Kratos sees it). Kratos
 * itself only knows a minimum length (`min_password_length: 12`, counted in bytes) and
 * bcrypt's 72-byte limit; the composition rules exist only here.
 *
 * This module must stay importable by the browser bundle: zod and standard JavaScript only.
 *
 * How characters are counted (Unicode-aware, so non-English passwords are judged fairly):
 * - length is counted in code points, so "é" or "😀" is one character (stricter than Kratos's
 *   byte count for ASCII-only passwords, never looser);
 * - an uppercase letter is `\p{Lu}` or `\p{Lt}` (e.g. "A", "Ä", "Ω", "ǅ");
 * - a number is a decimal digit of any script, `\p{Nd}` (e.g. "7", "٣", "७");
 * - a symbol is a punctuation or symbol code point, `\p{P}` or `\p{S}` (e.g. "!", "?", "#",
 *   "%", "€", "😀"). Letters, digits, combining marks, spaces and control characters are not
 *   symbols;
 * - the byte limit is the UTF-8 length, as bcrypt sees it.
 */
export interface PasswordRule {
  /** Message id shown in the Kratos flow (our range 4100001…, distinct from Kratos's 4xxxxxx). */
  id: number
  key: "min_length" | "uppercase" | "digit" | "symbol" | "max_bytes"
  text: string
  test(password: string): boolean
}

export const PASSWORD_MIN_LENGTH = 12
export const PASSWORD_MAX_BYTES = 72

const UPPERCASE = /[\p{Lu}\p{Lt}]/u
const DIGIT = /\p{Nd}/u
const SYMBOL = /[\p{P}\p{S}]/u

function codePoints(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length
}

export const passwordRules: readonly PasswordRule[] = [
  {
    id: 4100001,
    key: "min_length",
    text: `At least ${PASSWORD_MIN_LENGTH} characters`,
    test: (pw) => codePoints(pw) >= PASSWORD_MIN_LENGTH,
  },
  {
    id: 4100002,
    key: "uppercase",
    text: "At least one uppercase letter",
    test: (pw) => UPPERCASE.test(pw),
  },
  {
    id: 4100003,
    key: "digit",
    text: "At least one number",
    test: (pw) => DIGIT.test(pw),
  },
  {
    id: 4100004,
    key: "symbol",
    text: "At least one symbol (e.g. ! ? # %)",
    test: (pw) => SYMBOL.test(pw),
  },
  {
    id: 4100005,
    key: "max_bytes",
    text: `At most ${PASSWORD_MAX_BYTES} bytes`,
    test: (pw) => utf8Bytes(pw) <= PASSWORD_MAX_BYTES,
  },
]

/** Every rule the password breaks, in the order of `passwordRules` (empty when it is fine). */
export function checkPassword(password: string): PasswordRule[] {
  return passwordRules.filter((rule) => !rule.test(password))
}

/**
 * The password as a zod schema: one custom issue per failing rule, each carrying the rule's
 * message id and key in `params` (`{ id, key }`), so a form can list every failing rule.
 */
// Pure: a page that needs only the rule list (the sign-in page) doesn't load zod.
export const passwordSchema = /* @__PURE__ */ z.string().superRefine((password, ctx) => {
  for (const rule of checkPassword(password)) {
    ctx.addIssue({
      code: "custom",
      message: rule.text,
      params: { id: rule.id, key: rule.key },
    })
  }
})

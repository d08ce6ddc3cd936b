/**
 * The start of a user id, as the admin console shows ids (their first 8 characters) and as an
 * admin may type one into the audit log's filters. Shared by the console (to check the field)
 * and the service (to match it). Standard JavaScript only: the browser bundle imports it.
 */
const TEMPLATE = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"

/** Fewer characters would match a large share of everyone. */
export const ID_PREFIX_MIN = 4

/**
 * The prefix in lower case if `text` is the start of a hyphenated UUID (hex digits where the
 * UUID has them, hyphens where it has them) of at least ID_PREFIX_MIN characters, or a whole
 * one; null for anything else.
 */
export function idPrefix(text: string): string | null {
  // Not trimmed: the service refuses any other spelling of an id; the console trims its fields.
  const s = text.toLowerCase()
  if (s.length < ID_PREFIX_MIN || s.length > TEMPLATE.length) return null
  for (let i = 0; i < s.length; i++) {
    const ok = TEMPLATE[i] === "-" ? s[i] === "-" : /[0-9a-f]/.test(s[i]!)
    if (!ok) return null
  }
  return s
}

/**
 * The smallest and largest ids that start with `prefix` (from idPrefix): every id with that
 * start sorts between them, as text and as a UUID, so a prefix is a range an index can read.
 */
export function idRange(prefix: string): { lo: string; hi: string } {
  const rest = TEMPLATE.slice(prefix.length)
  return {
    lo: prefix + rest.replace(/x/g, "0"),
    hi: prefix + rest.replace(/x/g, "f"),
  }
}

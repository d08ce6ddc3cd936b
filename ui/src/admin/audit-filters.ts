import { ID_PREFIX_MIN, idPrefix } from "../../../webhooks/policy/id-prefix"

// The audit log's filters as the page's address holds them (`?event=&actor=&subject=&from=&to=`,
// dates as YYYY-MM-DD in the admin's time zone), checked, and turned into the API's query.

export type Filters = { event: string; actor: string; subject: string; from: string; to: string }

export const FILTER_KEYS = ["event", "actor", "subject", "from", "to"] as const

/** Local midnight of a YYYY-MM-DD day, or null for anything else (including 2026-02-30). */
export function localDay(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!m) return null
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const day = new Date(y, mo - 1, d)
  return day.getFullYear() === y && day.getMonth() === mo - 1 && day.getDate() === d ? day : null
}

export function filtersOf(query: URLSearchParams): Filters {
  const get = (k: string) => query.get(k)?.trim() ?? ""
  return {
    event: get("event"),
    actor: get("actor"),
    subject: get("subject"),
    from: get("from"),
    to: get("to"),
  }
}

export const PERSON_PROBLEM = `Pick a person from the list, or enter their id or its first ${ID_PREFIX_MIN} or more characters.`

export function problemsOf(f: Filters): Partial<Record<keyof Filters, string>> {
  const out: Partial<Record<keyof Filters, string>> = {}
  if (f.actor && !idPrefix(f.actor)) out.actor = PERSON_PROBLEM
  if (f.subject && !idPrefix(f.subject)) out.subject = PERSON_PROBLEM
  if (f.from && !localDay(f.from)) out.from = "Enter a date."
  if (f.to && !localDay(f.to)) out.to = "Enter a date."
  if (!out.from && !out.to && f.from && f.to && f.from > f.to)
    out.to = "The end is before the start."
  return out
}

/**
 * The API's query for checked filters: whole local days, `to` inclusive of its day (the API's
 * `to` is exclusive, so it gets the next midnight). Invalid values are left out.
 */
export function apiQuery(f: Filters): URLSearchParams {
  const q = new URLSearchParams()
  if (f.event) q.set("event", f.event)
  const actor = idPrefix(f.actor)
  if (actor) q.set("actor", actor)
  const subject = idPrefix(f.subject)
  if (subject) q.set("subject", subject)
  const from = localDay(f.from)
  if (from) q.set("from", from.toISOString())
  const end = localDay(f.to)
  if (end) {
    end.setDate(end.getDate() + 1)
    q.set("to", end.toISOString())
  }
  return q
}

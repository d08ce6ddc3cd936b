import type { LaneDelivery } from "../../data/event-subscribers"

/**
 * One audit entry as a CloudEvents 1.0 event in structured JSON mode. `id` is the entry's
 * `event_id` (also the `webhook-id`), so a receiver sees one id per event however often it
 * is sent; `type` is the audit event name; `subject` is the person the entry is about.
 *
 * `data.entry` holds the entry's columns as the trail stores them and `data.chain` its place
 * in the hash chain (`seq`, `prev_hash`, `hash`), so a receiver can compare what it got with
 * `npm run audit:verify` or recompute the hash itself (webhooks/domain/audit.ts: sha256 of
 * `prev_hash` then the canonical JSON of the entry's content). Entries carry no secrets by
 * construction; a detail whose name says it might (a token, a secret, a password, a code) is
 * replaced with "[redacted]" all the same, and listed in `data.redacted`.
 */
export interface SecurityCloudEvent {
  specversion: "1.0"
  id: string
  type: string
  source: string
  time: string
  subject?: string
  datacontenttype: "application/json"
  data: {
    entry: Omit<LaneDelivery["entry"], "id" | "seq" | "prev_hash" | "hash">
    chain: { seq: number; prev_hash: string | null; hash: string }
    redacted?: string[]
  }
}

const SECRET_NAME =
  /secret|token|password$|^password|cookie|^code$|^codes$|recovery_codes$|totp_url/i

function redact(value: unknown, path: string, found: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => redact(v, `${path}[${i}]`, found))
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const here = path ? `${path}.${k}` : k
      if (SECRET_NAME.test(k) && typeof v === "string") {
        out[k] = "[redacted]"
        found.push(here)
      } else out[k] = redact(v, here, found)
    }
    return out
  }
  return value
}

/** The ISO time as the trail's hash writes it (milliseconds, `Z`). */
function isoTime(text: string): string {
  return new Date(text).toISOString()
}

export function toCloudEvent(entry: LaneDelivery["entry"], source: string): SecurityCloudEvent {
  const redacted: string[] = []
  const { id: _id, seq, prev_hash, hash, ...columns } = entry
  const content = {
    ...columns,
    occurred_at: isoTime(columns.occurred_at),
    posture: redact(columns.posture, "posture", redacted),
    details: redact(columns.details, "details", redacted),
  }
  return {
    specversion: "1.0",
    id: entry.event_id,
    type: entry.event,
    source,
    time: content.occurred_at,
    ...(entry.subject_id ? { subject: entry.subject_id } : {}),
    datacontenttype: "application/json",
    data: {
      entry: content,
      chain: { seq, prev_hash, hash },
      ...(redacted.length > 0 ? { redacted } : {}),
    },
  }
}

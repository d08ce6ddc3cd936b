import type { Database } from "../../db/client"

export const GENERATED_EVENTS = [
  "auth.login",
  "auth.password_changed",
  "auth.2fa_enabled",
  "admin.role_changed",
] as const
export const GENERATED_BASE = new Date("2026-01-01T00:00:00.000Z")

/** The subject of generated row i (200 subjects) and its actor (100 actors). */
export const generatedSubject = (n: number) =>
  `${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`
export const generatedActor = (n: number) => `actor-${n}`

/** Bulk rows inserted with SQL carry no hash chain: put them in a scratch database only. */
export { scratchDatabase } from "./databases"

/**
 * Inserts `count` rows in one statement: row i has event GENERATED_EVENTS[i % 4], subject
 * generatedSubject(i % 200), actor generatedActor(i % 100) (type admin when i % 10 = 0), and
 * occurred_at GENERATED_BASE + i seconds; then ANALYZE.
 */
export async function insertGeneratedRows(database: Database, count: number): Promise<void> {
  await database.query(
    `insert into audit_events
       (event, occurred_at, actor_type, actor_id, subject_id, ip, user_agent, posture, details, dedup_key)
     select ($2::text[])[1 + i % 4],
            $3::timestamptz + make_interval(secs => i),
            case when i % 10 = 0 then 'admin' else 'user' end,
            'actor-' || (i % 100),
            (lpad(to_hex(i % 200), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
            '203.0.113.' || (i % 250),
            'Mozilla/5.0 "generated", row ' || i,
            '{"methods":["password"]}'::jsonb,
            jsonb_build_object('n', i, 'note', '=cmd|' || i),
            'gen:' || i
       from generate_series(1, $1::int) as i`,
    [count, GENERATED_EVENTS, GENERATED_BASE.toISOString()],
  )
  await database.query("analyze audit_events")
}

-- The audit trail is evidence: once written, a row must never change or disappear. The hash
-- chain detects tampering after the fact; these triggers refuse it up front, for every role
-- short of one that may disable triggers (a superuser can; the chain still tells).
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
		USING ERRCODE = 'insufficient_privilege',
			HINT = 'Audit entries are only ever inserted; record a correction as a new entry.';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update_delete
	BEFORE UPDATE OR DELETE ON "audit_events"
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate
	BEFORE TRUNCATE ON "audit_events"
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

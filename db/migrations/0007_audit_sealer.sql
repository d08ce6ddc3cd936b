-- Audit entries are inserted unsealed and a sealer gives each its place in the hash chain
-- (`seq`, with `prev_hash` and `hash`) shortly after, so writers no longer queue on one lock.
ALTER TABLE "audit_events" ADD COLUMN "seq" bigint;--> statement-breakpoint
-- Entries chained before this change were linked in id order: that order is their place.
ALTER TABLE "audit_events" DISABLE TRIGGER "audit_events_no_update_delete";--> statement-breakpoint
UPDATE "audit_events" SET "seq" = "id" WHERE "hash" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_events" ENABLE TRIGGER "audit_events_no_update_delete";--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_seq_key" ON "audit_events" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "audit_events_unsealed_idx" ON "audit_events" USING btree ("id") WHERE "audit_events"."seq" is null and "audit_events"."hash" is null;--> statement-breakpoint
-- Still append-only: the one update allowed is the seal itself, once per entry (an unsealed
-- entry given its place and hashes) and changing no other column.
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
			AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
			AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
				= (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
		USING ERRCODE = 'insufficient_privilege',
			HINT = 'Audit entries are only ever inserted; record a correction as a new entry.';
END;
$$;

DROP INDEX "audit_events_occurred_idx";--> statement-breakpoint
CREATE INDEX "audit_events_subject_event_idx" ON "audit_events" USING btree ("subject_id","event","id");--> statement-breakpoint
CREATE INDEX "audit_events_actor_event_idx" ON "audit_events" USING btree ("actor_id","event","id");--> statement-breakpoint
CREATE INDEX "audit_events_occurred_idx" ON "audit_events" USING btree ("occurred_at","id");
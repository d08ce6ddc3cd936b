CREATE TABLE "event_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"audit_id" bigint NOT NULL,
	"audit_event_id" uuid NOT NULL,
	"event" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"last_status" integer,
	"replays" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "event_deliveries_status_check" CHECK ("event_deliveries"."status" in ('pending', 'delivered', 'dead'))
);
--> statement-breakpoint
CREATE TABLE "event_subscribers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"event_types" text[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lane_locked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notification_preferences" (
	"identity_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"enabled" boolean NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "org_policy" ADD COLUMN "mandatory_notifications" text[] DEFAULT array['user.password_changed', 'user.2fa_disabled']::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "event_deliveries" ADD CONSTRAINT "event_deliveries_subscriber_id_event_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."event_subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "event_deliveries_subscriber_entry_key" ON "event_deliveries" USING btree ("subscriber_id","audit_id");--> statement-breakpoint
CREATE INDEX "event_deliveries_open_idx" ON "event_deliveries" USING btree ("subscriber_id","audit_id") WHERE "event_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "event_deliveries_subscriber_created_idx" ON "event_deliveries" USING btree ("subscriber_id","created_at");--> statement-breakpoint
CREATE INDEX "event_subscribers_enabled_idx" ON "event_subscribers" USING btree ("enabled");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_preferences_key" ON "notification_preferences" USING btree ("identity_id","kind");--> statement-breakpoint
-- Does an audit event name match one of a subscriber's patterns: the name itself, `*`, or a
-- prefix wildcard such as `auth.*` (the part before the `*` matched literally).
CREATE OR REPLACE FUNCTION security_event_matches(patterns text[], event text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT EXISTS (
		SELECT 1 FROM unnest(patterns) AS p
		 WHERE p = event OR p = '*'
		    OR (right(p, 2) = '.*' AND starts_with(event, left(p, -1)))
	)
$$;--> statement-breakpoint
-- The outbox of outbound security events: each new audit entry becomes one delivery per
-- enabled subscriber whose patterns match it, in the entry's own transaction, so a delivery
-- exists exactly when its entry does, whichever code path wrote the entry.
CREATE OR REPLACE FUNCTION audit_events_enqueue_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO event_deliveries (subscriber_id, audit_id, audit_event_id, event)
	SELECT s.id, NEW.id, NEW.event_id, NEW.event
	  FROM event_subscribers s
	 WHERE s.enabled AND security_event_matches(s.event_types, NEW.event)
	ON CONFLICT (subscriber_id, audit_id) DO NOTHING;
	RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_events_enqueue_deliveries" AFTER INSERT ON "audit_events"
	FOR EACH ROW EXECUTE FUNCTION audit_events_enqueue_deliveries();

CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text,
	"event" text NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"subject_id" uuid,
	"ip" text,
	"user_agent" text,
	"flow_id" uuid,
	"request_id" text,
	"posture" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prev_hash" text,
	"hash" text,
	CONSTRAINT "audit_events_actor_type_check" CHECK ("audit_events"."actor_type" in ('user', 'admin', 'system'))
);
--> statement-breakpoint
CREATE TABLE "hook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"hook" text NOT NULL,
	"flow_id" uuid,
	"identity_id" uuid,
	"payload" jsonb NOT NULL,
	"request_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"audit_event_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"recipient" text NOT NULL,
	"subject" text NOT NULL,
	"body_text" text NOT NULL,
	"body_html" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"message_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "notification_outbox_status_check" CHECK ("notification_outbox"."status" in ('pending', 'sending', 'sent', 'dead'))
);
--> statement-breakpoint
CREATE TABLE "org_policy" (
	"id" text PRIMARY KEY DEFAULT 'default' NOT NULL,
	"roles_requiring_2fa" text[] DEFAULT array['admin', 'super_admin']::text[] NOT NULL,
	"require_2fa_for_everyone" boolean DEFAULT false NOT NULL,
	"mfa_grace_period_hours" integer DEFAULT 72 NOT NULL,
	"password_rotation_days" integer,
	"sso_required" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "pending_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"change_key" text NOT NULL,
	"flow_id" uuid NOT NULL,
	"method" text NOT NULL,
	"identity_id" uuid NOT NULL,
	"intent" text NOT NULL,
	"before" jsonb NOT NULL,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "pending_changes_status_check" CHECK ("pending_changes"."status" in ('pending', 'confirmed', 'abandoned'))
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"key" varchar(255) PRIMARY KEY NOT NULL,
	"points" integer DEFAULT 0 NOT NULL,
	"expire" bigint
);
--> statement-breakpoint
CREATE TABLE "settings_intents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"flow_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"detail" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_event_id_key" ON "audit_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_dedup_key" ON "audit_events" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "audit_events_subject_idx" ON "audit_events" USING btree ("subject_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("actor_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_event_idx" ON "audit_events" USING btree ("event","id");--> statement-breakpoint
CREATE INDEX "audit_events_occurred_idx" ON "audit_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "hook_deliveries_identity_idx" ON "hook_deliveries" USING btree ("identity_id","received_at");--> statement-breakpoint
CREATE INDEX "hook_deliveries_flow_idx" ON "hook_deliveries" USING btree ("flow_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_outbox_event_recipient_key" ON "notification_outbox" USING btree ("audit_event_id","kind","recipient");--> statement-breakpoint
CREATE INDEX "notification_outbox_due_idx" ON "notification_outbox" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pending_changes_change_key" ON "pending_changes" USING btree ("change_key");--> statement-breakpoint
CREATE INDEX "pending_changes_flow_idx" ON "pending_changes" USING btree ("flow_id","method");--> statement-breakpoint
CREATE INDEX "pending_changes_status_idx" ON "pending_changes" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "pending_changes_identity_idx" ON "pending_changes" USING btree ("identity_id","method","created_at");--> statement-breakpoint
CREATE INDEX "settings_intents_flow_idx" ON "settings_intents" USING btree ("flow_id","created_at");
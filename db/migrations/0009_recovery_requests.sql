CREATE TABLE "recovery_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"identity_id" uuid NOT NULL,
	"status" text DEFAULT 'verifying' NOT NULL,
	"reason" text,
	"code_hash" text,
	"code_expires_at" timestamp with time zone,
	"code_attempts" integer DEFAULT 0 NOT NULL,
	"codes_sent" integer DEFAULT 0 NOT NULL,
	"session_id" uuid,
	"ip" text,
	"user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"approvals" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" uuid,
	"decision_note" text,
	CONSTRAINT "recovery_requests_status_check" CHECK ("recovery_requests"."status" in ('verifying', 'open', 'approved', 'denied', 'expired'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "recovery_requests_one_open_key" ON "recovery_requests" USING btree ("identity_id") WHERE "recovery_requests"."status" in ('verifying', 'open');--> statement-breakpoint
CREATE INDEX "recovery_requests_identity_idx" ON "recovery_requests" USING btree ("identity_id","created_at");--> statement-breakpoint
CREATE INDEX "recovery_requests_status_idx" ON "recovery_requests" USING btree ("status","submitted_at");
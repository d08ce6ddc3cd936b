CREATE TABLE "password_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"identity_id" uuid NOT NULL,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "password_history_identity_hash_key" ON "password_history" USING btree ("identity_id","hash");--> statement-breakpoint
CREATE INDEX "password_history_identity_idx" ON "password_history" USING btree ("identity_id","id");
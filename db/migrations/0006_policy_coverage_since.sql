ALTER TABLE "org_policy" ADD COLUMN "coverage_since" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- A requirement already on keeps the start it had: the policy's last save.
UPDATE "org_policy" SET "coverage_since" = jsonb_build_object('everyone', to_char("updated_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) WHERE "require_2fa_for_everyone";

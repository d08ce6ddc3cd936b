CREATE INDEX "hook_deliveries_received_idx" ON "hook_deliveries" USING btree ("received_at");--> statement-breakpoint
-- Rows written before the retention keep only the operator's part of their body, as new ones
-- (webhooks/domain/hook-deliveries.ts deliveryShape): no traits, client address, user agent
-- or metadata.
UPDATE "hook_deliveries" SET "payload" = jsonb_strip_nulls(jsonb_build_object(
	'flow_type', "payload"->'flow_type',
	'flow_state', "payload"->'flow_state',
	'action_nodes', "payload"->'action_nodes',
	'requested_aal', "payload"->'requested_aal',
	'refresh', "payload"->'refresh',
	'session_aal', "payload"->'session'->'aal',
	'authentication_methods', (
		SELECT jsonb_agg(m->'method')
		FROM jsonb_array_elements(
			CASE WHEN jsonb_typeof("payload"->'session'->'authentication_methods') = 'array'
			THEN "payload"->'session'->'authentication_methods' ELSE '[]'::jsonb END
		) AS m
	)
));

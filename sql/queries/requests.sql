-- name: AddRequestLogBatch :exec
-- Records a page of requests; a request already recorded is left alone.
INSERT INTO request_log (
    tenant_id, request_id, occurred_at, outcome, key_id, team_id, endpoint, model, provider, upstream_model,
    stream, status, code, reason, prompt_tokens, completion_tokens, cached_tokens, cost_micros, priced,
    duration_ms, trace_id, metadata, routing, guardrails, gateway_ms, upstream_ms, first_token_ms)
SELECT unnest(@tenant_ids::text[]), unnest(@request_ids::uuid[]), unnest(@occurred_ats::timestamptz[]),
       unnest(@outcomes::text[]), unnest(@key_ids::uuid[]), nullif(unnest(@team_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
       unnest(@endpoints::text[]), unnest(@models::text[]), unnest(@providers::text[]), unnest(@upstream_models::text[]),
       unnest(@streams::boolean[]), unnest(@statuses::integer[]), unnest(@codes::text[]), unnest(@reasons::text[]),
       unnest(@prompt_tokens::bigint[]), unnest(@completion_tokens::bigint[]), unnest(@cached_tokens::bigint[]),
       unnest(@cost_micros::bigint[]), unnest(@priced::boolean[]), unnest(@duration_ms::double precision[]),
       unnest(@trace_ids::text[]), unnest(@metadata::jsonb[]), unnest(@routings::jsonb[]), unnest(@guardrails::jsonb[]),
       unnest(@gateway_ms::double precision[]), unnest(@upstream_ms::double precision[]), unnest(@first_token_ms::double precision[])
ON CONFLICT (tenant_id, request_id) DO NOTHING;

-- name: ListRequests :many
-- Newest first; a page continues strictly before the last row of the one
-- before it.
SELECT * FROM request_log
WHERE tenant_id = @tenant_id
  AND occurred_at >= @from_at AND occurred_at < @to_at
  AND (sqlc.narg(key_id)::uuid IS NULL OR key_id = sqlc.narg(key_id))
  AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
  AND (sqlc.narg(status)::integer IS NULL OR status = sqlc.narg(status))
  AND metadata @> @metadata::jsonb
  AND (sqlc.narg(before_at)::timestamptz IS NULL OR (occurred_at, request_id) < (sqlc.narg(before_at), sqlc.narg(before_id)::uuid))
ORDER BY occurred_at DESC, request_id DESC
LIMIT @max_rows;

-- name: GetRequest :one
SELECT * FROM request_log WHERE tenant_id = @tenant_id AND request_id = @request_id;

-- name: ClearRequestLog :exec
DELETE FROM request_log;

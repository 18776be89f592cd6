-- name: AddSpendBatch :exec
-- Folds many cells at once; the cells are distinct.
INSERT INTO spend_hourly (tenant_id, hour, key_id, team_id, provider, model, requests, prompt_tokens, completion_tokens, cost_micros)
SELECT unnest(@tenant_ids::text[]), unnest(@hours::timestamptz[]), unnest(@key_ids::uuid[]), unnest(@team_ids::uuid[]),
       unnest(@providers::text[]), unnest(@models::text[]), unnest(@requests::bigint[]), unnest(@prompt_tokens::bigint[]),
       unnest(@completion_tokens::bigint[]), unnest(@cost_micros::bigint[])
ON CONFLICT (tenant_id, hour, key_id, team_id, provider, model) DO UPDATE SET
    requests          = spend_hourly.requests + excluded.requests,
    prompt_tokens     = spend_hourly.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = spend_hourly.completion_tokens + excluded.completion_tokens,
    cost_micros       = spend_hourly.cost_micros + excluded.cost_micros;

-- name: SpendRows :many
SELECT key_id, team_id, provider, model, date_trunc('day', hour AT TIME ZONE 'UTC')::date AS day,
       sum(requests)::bigint AS requests,
       sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(cost_micros)::bigint AS cost_micros
FROM spend_hourly
WHERE tenant_id = @tenant_id AND hour >= @from_hour AND hour < @to_hour
GROUP BY key_id, team_id, provider, model, day
ORDER BY day, key_id, provider, model;

-- name: ClearSpend :exec
DELETE FROM spend_hourly;

-- name: AddAnalytics :batchexec
INSERT INTO analytics_minute AS a (tenant_id, dimension, value, minute, requests, errors, prompt_tokens, completion_tokens,
    cost_micros, cache_hits, cache_lookups, latency)
VALUES (@tenant_id, @dimension, @value, @minute, @requests, @errors, @prompt_tokens, @completion_tokens,
    @cost_micros, @cache_hits, @cache_lookups, @latency::bigint[])
ON CONFLICT (tenant_id, dimension, minute, value) DO UPDATE SET
    requests = a.requests + excluded.requests,
    errors = a.errors + excluded.errors,
    prompt_tokens = a.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = a.completion_tokens + excluded.completion_tokens,
    cost_micros = a.cost_micros + excluded.cost_micros,
    cache_hits = a.cache_hits + excluded.cache_hits,
    cache_lookups = a.cache_lookups + excluded.cache_lookups,
    latency = add_latency(a.latency, excluded.latency);

-- name: AnalyticsBetween :many
SELECT value, minute, requests, errors, prompt_tokens, completion_tokens, cost_micros, cache_hits, cache_lookups, latency
FROM analytics_minute
WHERE tenant_id = @tenant_id AND dimension = @dimension AND minute >= @from_at AND minute < @to_at
ORDER BY minute, value;

-- name: ClearAnalytics :exec
DELETE FROM analytics_minute;

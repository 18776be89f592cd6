-- Analytics: requests folded per tenant, minute and grouping (none, model,
-- provider, key, team, or a metadata key), with a latency histogram whose
-- buckets add up across rows (usage.Latency), so any range and interval
-- is read from here, never from the request log.
CREATE TABLE analytics_minute (
    tenant_id         text        NOT NULL,
    dimension         text        NOT NULL, -- '' (all), model, provider, key, team, metadata.<key>
    value             text        NOT NULL,
    minute            timestamptz NOT NULL,
    requests          bigint      NOT NULL,
    errors            bigint      NOT NULL,
    prompt_tokens     bigint      NOT NULL,
    completion_tokens bigint      NOT NULL,
    cost_micros       bigint      NOT NULL,
    cache_hits        bigint      NOT NULL,
    cache_lookups     bigint      NOT NULL,
    latency           bigint[]    NOT NULL,
    PRIMARY KEY (tenant_id, dimension, minute, value)
);

-- Adds two latency histograms bucket by bucket.
CREATE FUNCTION add_latency(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

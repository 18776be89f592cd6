-- Spend by team: the key's team when the request ran (the nil uuid for a
-- key without one). Rows written before this migration have no team; a
-- replay of spend.v2 rebuilds them from the events.
ALTER TABLE spend_hourly ADD COLUMN team_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE spend_hourly DROP CONSTRAINT spend_hourly_pkey;
ALTER TABLE spend_hourly ADD PRIMARY KEY (tenant_id, hour, key_id, team_id, provider, model);

-- The request log: one row per request answered or refused, from the
-- request.completed and request.rejected events.
CREATE TABLE request_log (
    tenant_id         text        NOT NULL,
    request_id        uuid        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    outcome           text        NOT NULL, -- completed | rejected
    key_id            uuid        NOT NULL,
    team_id           uuid,
    endpoint          text        NOT NULL,
    model             text        NOT NULL,
    provider          text        NOT NULL,
    upstream_model    text        NOT NULL,
    stream            boolean     NOT NULL,
    status            integer     NOT NULL,
    code              text        NOT NULL,
    reason            text        NOT NULL,
    prompt_tokens     bigint      NOT NULL,
    completion_tokens bigint      NOT NULL,
    cached_tokens     bigint      NOT NULL,
    cost_micros       bigint      NOT NULL,
    priced            boolean     NOT NULL,
    duration_ms       double precision NOT NULL,
    trace_id          text        NOT NULL,
    metadata          jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX request_log_time ON request_log (tenant_id, occurred_at DESC, request_id DESC);
CREATE INDEX request_log_metadata ON request_log USING gin (metadata jsonb_path_ops);

-- Webhooks: a tenant's endpoints (folded from webhook.created by the
-- webhooks projector), their secrets sealed with the master key (written
-- with the event, never in it), and the deliveries the projector queues
-- from the log, in order per webhook, sent at least once.
CREATE TABLE webhooks (
    tenant_id   text        NOT NULL,
    webhook_id  uuid        NOT NULL,
    url         text        NOT NULL,
    events      text[]      NOT NULL,
    created_seq bigint      NOT NULL, -- events after it are sent
    PRIMARY KEY (tenant_id, webhook_id)
);

-- The full URL lives here, beside the event (whose URL shows only the
-- scheme and host: a path or query may hold a token).
CREATE TABLE webhook_secrets (
    tenant_id  text  NOT NULL,
    webhook_id uuid  NOT NULL,
    url        text  NOT NULL,
    sealed     bytea NOT NULL,
    PRIMARY KEY (tenant_id, webhook_id)
);

CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    webhook_id      uuid        NOT NULL,
    seq             bigint      NOT NULL,
    event_type      text        NOT NULL,
    body            bytea       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending', -- pending | delivered
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 'pending';

-- The event log: one append-only table, a head row per tenant for the hash
-- chain, and checkpoints for projectors. See docs/event-log.md.

CREATE TABLE tenant_heads (
    tenant_id text PRIMARY KEY,
    seq       bigint NOT NULL DEFAULT 0,
    hash      bytea  NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
);

CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    tenant_id      text        NOT NULL,
    seq            bigint      NOT NULL,
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL CHECK (stream_version > 0),
    event_id       uuid        NOT NULL,
    type           text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor          text        NOT NULL,
    trace_id       text        NOT NULL,
    record         bytea       NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    CONSTRAINT events_tenant_seq UNIQUE (tenant_id, seq),
    CONSTRAINT events_stream_version UNIQUE (tenant_id, stream_id, stream_version),
    CONSTRAINT events_tenant_event_id UNIQUE (tenant_id, event_id)
);

-- Projectors read in (transaction_id, position) order below the oldest
-- running transaction, so a row committed late is never skipped.
CREATE INDEX events_governance_order ON events (transaction_id, position)
    WHERE type NOT LIKE 'request.%';
CREATE INDEX events_traffic_order ON events (transaction_id, position)
    WHERE type LIKE 'request.%';
CREATE INDEX events_tenant_position ON events (tenant_id, position);

CREATE FUNCTION events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE projector_checkpoints (
    name                text   PRIMARY KEY,
    last_transaction_id xid8   NOT NULL DEFAULT '0',
    last_position       bigint NOT NULL DEFAULT 0
);

-- Provider credentials are state, not events: sealed with the master key,
-- written in the same transaction as the provider.connected event.
CREATE TABLE provider_credentials (
    tenant_id   text        NOT NULL,
    provider_id uuid        NOT NULL,
    sealed      bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider_id)
);

-- Spend projection: completed requests folded per hour, key, provider, model.
CREATE TABLE spend_hourly (
    tenant_id         text        NOT NULL,
    hour              timestamptz NOT NULL,
    key_id            uuid        NOT NULL,
    provider          text        NOT NULL,
    model             text        NOT NULL,
    requests          bigint      NOT NULL DEFAULT 0,
    prompt_tokens     bigint      NOT NULL DEFAULT 0,
    completion_tokens bigint      NOT NULL DEFAULT 0,
    cost_micros       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hour, key_id, provider, model)
);

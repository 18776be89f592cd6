-- Stored request and answer bodies of keys and teams that log them (after
-- guardrail redaction, capped), written in the transaction of the
-- request's event, which carries their digest; deleted once expired.
CREATE TABLE request_payloads (
    tenant_id          text        NOT NULL,
    request_id         uuid        NOT NULL,
    request            bytea       NOT NULL,
    response           bytea       NOT NULL,
    request_truncated  boolean     NOT NULL,
    response_truncated boolean     NOT NULL,
    stored_at          timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX request_payloads_expiry ON request_payloads (expires_at);

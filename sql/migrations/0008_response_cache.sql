-- The exact cache's default store: answers by tenant and request digest,
-- each with its expiry; expired rows are never read and are swept.
CREATE TABLE response_cache (
    tenant_id  text        NOT NULL,
    key        bytea       NOT NULL,
    entry      bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX response_cache_expiry ON response_cache (expires_at);

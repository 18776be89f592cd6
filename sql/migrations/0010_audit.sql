-- The audit log: the installation's checkpoint signing keys (the private
-- key sealed with the master key) and each tenant's signed checkpoints,
-- with the frontier of the tree they sign. See docs/audit-format.md.
CREATE TABLE audit_signing_keys (
    verifier_key   text        PRIMARY KEY, -- note format: <name>+<hash>+<key>
    name           text        NOT NULL,    -- gatehouse/<installation>, the same across rotations
    sealed_private bytea,                   -- NULL for a key given by GATEHOUSE_AUDIT_SIGNING_KEY
    created_at     timestamptz NOT NULL,
    active         boolean     NOT NULL DEFAULT true
);

-- One active key at a time.
CREATE UNIQUE INDEX audit_signing_keys_active ON audit_signing_keys ((true)) WHERE active;

CREATE TABLE audit_checkpoints (
    tenant_id text        NOT NULL,
    size      bigint      NOT NULL CHECK (size > 0),
    root      bytea       NOT NULL,
    peaks     bytea       NOT NULL, -- the tree's frontier: its perfect subtrees' roots, 32 bytes each, largest first
    note      text        NOT NULL, -- the signed checkpoint
    signed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, size)
);

-- Exports pick their range by time.
CREATE INDEX events_tenant_occurred ON events (tenant_id, occurred_at);

-- The audit trail pages through a tenant's events but its completed
-- requests, which the request log lists.
CREATE INDEX events_tenant_trail ON events (tenant_id, seq) WHERE type <> 'request.completed';

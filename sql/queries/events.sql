-- name: LockTenantHeads :many
-- Creates missing head rows and locks every head named, in tenant order so
-- that concurrent batches never deadlock.
INSERT INTO tenant_heads (tenant_id)
SELECT t FROM unnest(@tenant_ids::text[]) AS t ORDER BY t
ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id
RETURNING tenant_id, seq, hash;

-- name: ExistingEventIDs :many
SELECT e.tenant_id, e.event_id
FROM events e
JOIN (SELECT unnest(@tenant_ids::text[]) AS tenant_id, unnest(@event_ids::uuid[]) AS event_id) AS k
  ON e.tenant_id = k.tenant_id AND e.event_id = k.event_id;

-- name: StreamVersion :one
SELECT coalesce(max(stream_version), 0)::integer AS version
FROM events
WHERE tenant_id = @tenant_id AND stream_id = @stream_id;

-- name: InsertEvents :copyfrom
INSERT INTO events (
    tenant_id, seq, stream_id, stream_version, event_id, type,
    occurred_at, actor, trace_id, record, prev_hash, hash
) VALUES (
    @tenant_id, @seq, @stream_id, @stream_version, @event_id, @type,
    @occurred_at, @actor, @trace_id, @record, @prev_hash, @hash
);

-- name: AdvanceTenantHeads :exec
UPDATE tenant_heads h
SET seq = u.seq, hash = u.hash
FROM (SELECT unnest(@tenant_ids::text[]) AS tenant_id,
             unnest(@seqs::bigint[]) AS seq,
             unnest(@hashes::bytea[]) AS hash) AS u
WHERE h.tenant_id = u.tenant_id;

-- name: ReadStream :many
SELECT * FROM events
WHERE tenant_id = @tenant_id AND stream_id = @stream_id
ORDER BY stream_version;

-- name: TenantEventsAfter :many
SELECT * FROM events
WHERE tenant_id = @tenant_id AND position > @after
ORDER BY position
LIMIT @max_rows;

-- name: TenantChainAfter :many
SELECT * FROM events
WHERE tenant_id = @tenant_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: TenantHead :one
SELECT seq, hash FROM tenant_heads WHERE tenant_id = @tenant_id;

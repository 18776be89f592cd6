-- name: ActiveSigningKey :one
SELECT name, verifier_key, sealed_private FROM audit_signing_keys WHERE active;

-- name: InsertSigningKey :execrows
-- A replica that lost the race to create the first key inserts nothing.
INSERT INTO audit_signing_keys (name, verifier_key, sealed_private, created_at)
VALUES (@name, @verifier_key, @sealed_private, @created_at)
ON CONFLICT DO NOTHING;

-- name: TenantsBehindCheckpoints :many
-- Tenants whose log has grown since their last checkpoint.
SELECT h.tenant_id, h.seq AS head, coalesce(c.size, 0)::bigint AS size
FROM tenant_heads h
LEFT JOIN LATERAL (
    SELECT max(size) AS size FROM audit_checkpoints WHERE tenant_id = h.tenant_id
) c ON true
WHERE h.seq > coalesce(c.size, 0);

-- name: LatestAuditCheckpoint :one
SELECT * FROM audit_checkpoints WHERE tenant_id = @tenant_id ORDER BY size DESC LIMIT 1;

-- name: AuditCheckpointAtMost :one
SELECT * FROM audit_checkpoints WHERE tenant_id = @tenant_id AND size <= @size ORDER BY size DESC LIMIT 1;

-- name: InsertAuditCheckpoint :exec
INSERT INTO audit_checkpoints (tenant_id, size, root, peaks, note, signed_at)
VALUES (@tenant_id, @size, @root, @peaks, @note, @signed_at)
ON CONFLICT DO NOTHING;

-- name: ChainHashesAfter :many
SELECT seq, hash FROM events
WHERE tenant_id = @tenant_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: ChainLinksBetween :many
SELECT seq, record, prev_hash, hash FROM events
WHERE tenant_id = @tenant_id AND seq > @after_seq AND seq <= @last_seq
ORDER BY seq
LIMIT @max_rows;

-- name: FirstSeqFrom :one
SELECT coalesce(min(seq), 0)::bigint FROM events WHERE tenant_id = @tenant_id AND occurred_at >= @since;

-- name: LastSeqBefore :one
SELECT coalesce(max(seq), 0)::bigint FROM events WHERE tenant_id = @tenant_id AND occurred_at < @until;

-- name: TenantIDs :many
SELECT tenant_id FROM tenant_heads ORDER BY tenant_id;

-- name: AuditTrailPage :many
-- A tenant's governance events and refusals after a seq: every event but
-- completed requests and guardrail verdicts that passed.
SELECT * FROM events
WHERE tenant_id = @tenant_id AND seq > @after_seq AND type <> 'request.completed'
  AND (sqlc.narg('since')::timestamptz IS NULL OR occurred_at >= sqlc.narg('since'))
  AND (sqlc.narg('until')::timestamptz IS NULL OR occurred_at < sqlc.narg('until'))
  AND (sqlc.narg('actor')::text IS NULL OR actor = sqlc.narg('actor'))
  AND (sqlc.narg('event_type')::text IS NULL OR type = sqlc.narg('event_type') OR type LIKE sqlc.narg('event_type') || '.%')
  AND (type <> 'guardrail.verdict' OR convert_from(record, 'UTF8')::jsonb #>> '{data,outcome}' <> 'pass')
ORDER BY seq
LIMIT @max_rows;

-- name: StreamEventsBefore :many
-- The earlier events of some streams: what a change changed from.
SELECT * FROM events
WHERE tenant_id = @tenant_id AND stream_id = ANY(@stream_ids::text[]) AND seq < @before_seq
ORDER BY seq;

-- name: TrafficSummary :one
SELECT count(*) FILTER (WHERE type = 'request.completed')::bigint AS completed,
       count(*) FILTER (WHERE type = 'request.rejected')::bigint AS rejected,
       count(*) FILTER (WHERE type = 'guardrail.verdict')::bigint AS verdicts
FROM events
WHERE tenant_id = @tenant_id AND occurred_at >= @since AND occurred_at < @until
  AND type IN ('request.completed', 'request.rejected', 'guardrail.verdict');

-- name: TenantGovernance :many
-- A tenant's events but its traffic, in order: what access was made of.
SELECT * FROM events
WHERE tenant_id = @tenant_id AND type NOT LIKE 'request.%' AND type <> 'guardrail.verdict'
ORDER BY seq;

-- name: RetireSigningKeys :exec
UPDATE audit_signing_keys SET active = false WHERE active;

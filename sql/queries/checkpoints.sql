-- name: ResetCheckpoint :exec
INSERT INTO projector_checkpoints (name) VALUES (@name)
ON CONFLICT (name) DO UPDATE SET last_transaction_id = '0', last_position = 0;

-- name: GetCheckpoint :one
SELECT last_transaction_id, last_position FROM projector_checkpoints WHERE name = @name;

-- name: HeadTransaction :one
-- The newest transaction whose events a projector may read now.
SELECT coalesce(max(transaction_id), '0')::xid8 AS transaction_id, coalesce(max(position), 0)::bigint AS position
FROM events
WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot());

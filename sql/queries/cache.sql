-- name: GetCacheEntry :one
SELECT entry FROM response_cache
WHERE tenant_id = @tenant_id AND key = @key AND expires_at > @now;

-- name: PutCacheEntry :exec
INSERT INTO response_cache (tenant_id, key, entry, expires_at)
VALUES (@tenant_id, @key, @entry, @expires_at)
ON CONFLICT (tenant_id, key) DO UPDATE SET entry = excluded.entry, expires_at = excluded.expires_at;

-- name: DeleteExpiredCacheEntries :execrows
-- Sweeps a bounded batch of expired entries.
DELETE FROM response_cache AS c
WHERE (c.tenant_id, c.key) IN (
    SELECT e.tenant_id, e.key FROM response_cache AS e WHERE e.expires_at <= @now LIMIT @max_rows
);

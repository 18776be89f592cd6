-- The quota functions (quota_admit, quota_settle, quota_expire) are called
-- from adapters/postgres/quota.go: sqlc cannot type the rows of
-- set-returning PL/pgSQL functions.

-- name: QuotaCounter :one
SELECT used, reserved FROM quota_counters
WHERE tenant_id = @tenant_id AND kind = @kind AND scope = @scope AND scope_id = @scope_id AND bucket = @bucket;

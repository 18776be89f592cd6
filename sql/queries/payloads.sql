-- name: InsertPayload :exec
INSERT INTO request_payloads (tenant_id, request_id, request, response, request_truncated, response_truncated, stored_at, expires_at)
VALUES (@tenant_id, @request_id, @request, @response, @request_truncated, @response_truncated, @stored_at, @expires_at)
ON CONFLICT DO NOTHING;

-- name: GetPayload :one
SELECT * FROM request_payloads WHERE tenant_id = @tenant_id AND request_id = @request_id AND expires_at > @now;

-- name: DeleteExpiredPayloads :execrows
DELETE FROM request_payloads WHERE expires_at <= @now;

-- name: RetainPayloads :exec
-- A tenant's new retention applies to the bodies stored already.
UPDATE request_payloads SET expires_at = stored_at + make_interval(days => @days::integer) WHERE tenant_id = @tenant_id;

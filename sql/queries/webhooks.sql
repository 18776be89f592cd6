-- name: InsertWebhookSecret :exec
INSERT INTO webhook_secrets (tenant_id, webhook_id, url, sealed) VALUES (@tenant_id, @webhook_id, @url, @sealed);

-- name: AddWebhook :exec
INSERT INTO webhooks (tenant_id, webhook_id, url, events, created_seq)
VALUES (@tenant_id, @webhook_id, @url, @events::text[], @created_seq)
ON CONFLICT DO NOTHING;

-- name: WebhooksOf :many
SELECT * FROM webhooks WHERE tenant_id = ANY(@tenant_ids::text[]);

-- name: ListWebhooks :many
SELECT * FROM webhooks WHERE tenant_id = @tenant_id ORDER BY created_seq;

-- name: QueueDelivery :exec
INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, seq, event_type, body, next_attempt_at, created_at)
VALUES (@id, @tenant_id, @webhook_id, @seq, @event_type, @body, now(), now())
ON CONFLICT (webhook_id, seq) DO NOTHING;

-- name: ClaimDeliveries :many
-- The oldest pending delivery of each webhook, when it is due and no one
-- holds it: a webhook's deliveries go one at a time, in order. The outer
-- conditions are checked again on rows changed meanwhile; times are the
-- database's, one clock for every replica.
UPDATE webhook_deliveries d SET locked_until = now() + interval '30 seconds'
FROM webhook_secrets s
WHERE d.id IN (
        SELECT DISTINCT ON (p.webhook_id) p.id FROM webhook_deliveries p
        WHERE p.status = 'pending' ORDER BY p.webhook_id, p.seq)
  AND d.status = 'pending'
  AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until < now())
  AND s.tenant_id = d.tenant_id AND s.webhook_id = d.webhook_id
RETURNING d.id, d.tenant_id, d.webhook_id, d.seq, d.event_type, d.body, d.attempts, s.url, s.sealed;

-- name: DeliverySucceeded :exec
UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = @last_status, last_error = '',
    delivered_at = now(), locked_until = NULL
WHERE id = @id;

-- name: DeliveryFailed :exec
UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = @last_status, last_error = @last_error,
    next_attempt_at = now() + make_interval(secs => @backoff_seconds::double precision), locked_until = NULL
WHERE id = @id;

-- name: ListDeliveries :many
SELECT id, seq, event_type, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
FROM webhook_deliveries
WHERE tenant_id = @tenant_id AND webhook_id = @webhook_id
ORDER BY seq DESC
LIMIT @max_rows;

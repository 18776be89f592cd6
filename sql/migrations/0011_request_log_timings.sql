-- Where a request's time went: the gateway's own work before the first
-- upstream call, the upstream call that answered, and a stream's first
-- chunk (request.completed carries them; rows written before have zeros).
ALTER TABLE request_log ADD COLUMN gateway_ms     double precision NOT NULL DEFAULT 0;
ALTER TABLE request_log ADD COLUMN upstream_ms    double precision NOT NULL DEFAULT 0;
ALTER TABLE request_log ADD COLUMN first_token_ms double precision NOT NULL DEFAULT 0;

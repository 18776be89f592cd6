-- How a request routed by a config went: the config and version, the
-- target that answered, its retries and every attempt (usage.Routing).
-- Requests routed by no config have an empty object.
ALTER TABLE request_log ADD COLUMN routing jsonb NOT NULL DEFAULT '{}';

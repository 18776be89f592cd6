-- The guardrail verdicts of a request: id, guardrail, stage, outcome and
-- action of each (the verdict events hold the rest).
ALTER TABLE request_log ADD COLUMN guardrails jsonb NOT NULL DEFAULT '[]';

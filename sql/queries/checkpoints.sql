-- name: ResetCheckpoint :exec
INSERT INTO projector_checkpoints (name) VALUES (@name)
ON CONFLICT (name) DO UPDATE SET last_transaction_id = '0', last_position = 0;

-- name: AdvanceCheckpoint :exec
-- Moves a projector past a page, in the transaction that wrote the page's rows.
UPDATE projector_checkpoints
SET last_transaction_id = @last_transaction_id, last_position = @last_position
WHERE name = @name;

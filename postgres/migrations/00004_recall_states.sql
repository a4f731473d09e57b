-- The states a recall passes through once the dialler serves it (SPEC §5),
-- and how a recall attempt's call ends. New enum values cannot be used in
-- the transaction that adds them: this file runs without one (each
-- statement is idempotent), the next one uses them.

-- +goose NO TRANSACTION
-- +goose Up
alter type recall_status add value if not exists 'queued' after 'pending';
alter type recall_status add value if not exists 'expired';
alter type recall_status add value if not exists 'served_inbound';
alter type call_outcome add value if not exists 'busy';
alter type call_outcome add value if not exists 'no_answer';
alter type call_outcome add value if not exists 'unreachable';

-- +goose Down
-- Enum values cannot be dropped; the next migration's Down leaves them unused.
select 1;

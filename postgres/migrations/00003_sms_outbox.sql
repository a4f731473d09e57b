-- The SMS outbox (SPEC §6): every message is a row written in the same
-- transaction as what causes it, unique by its idempotency key, and
-- delivered by sender loops that claim rows with a lease.

-- +goose Up
create type sms_status as enum (
    'pending',      -- waiting for its due time or its next attempt
    'sending',      -- claimed by a sender (lease_until bounds the claim)
    'accepted',     -- Twilio accepted it (message_sid set)
    'delivered',    -- the carrier reported delivery
    'failed',       -- undeliverable: final (opted out, landline, unreachable...)
    'withdrawn'     -- no longer to send (the booking was cancelled or moved)
);

create table sms_outbox (
    id              bigint generated always as identity primary key,
    -- booking number + kind ("reminder:123456789012"): a message is never
    -- enqueued twice.
    idempotency_key text not null unique,
    kind            text not null,
    booking_number  text,
    phone           text not null check (phone ~ '^\+[1-9][0-9]{6,14}$'),
    body            text not null,
    due_at          timestamptz not null,
    status          sms_status not null default 'pending',
    attempts        smallint not null default 0,
    next_attempt_at timestamptz not null,
    lease_owner     text,
    lease_until     timestamptz,
    message_sid     text unique,
    error_code      integer,
    created_at      timestamptz not null,
    updated_at      timestamptz not null
);
create index sms_outbox_due on sms_outbox (next_attempt_at) where status in ('pending', 'sending');
create index sms_outbox_booking on sms_outbox (booking_number) where status = 'pending';

-- Numbers that get no SMS: they replied STOP, or Twilio refused them as
-- opted out (21610) or not mobile (21614). START removes an opt-out.
create table sms_optouts (
    phone         text primary key,
    opted_out_at  timestamptz not null
);

-- +goose Down
drop table sms_optouts;
drop table sms_outbox;
drop type sms_status;

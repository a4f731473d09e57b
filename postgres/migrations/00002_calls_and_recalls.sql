-- Call records (SPEC §3: every call leaves one) and durable recall requests
-- (SPEC §5: durable from the moment the caller accepts).

-- +goose Up
create type call_direction as enum ('inbound', 'recall');
create type call_outcome as enum (
    'in_progress',         -- not ended yet (or the controller died mid-call)
    'self_booked', 'self_cancelled', 'self_moved',
    'transferred',         -- handed to the operator queue, which records the rest
    'agent_answered',      -- bridged to an agent
    'abandoned',           -- hung up while waiting in the queue
    'recall_requested',    -- accepted the 2-minute recall offer
    'out_of_hours_recall', -- asked for a recall out of hours
    'hung_up',             -- ended in the IVR without completing anything
    'closed',              -- out of hours, declined the recall
    'failed'               -- a technical failure ended the call
);

create table calls (
    id               uuid primary key,
    -- Asterisk's channel id (unique per call).
    channel_id       text not null unique,
    direction        call_direction not null,
    -- E.164 or null when withheld; personal data: never logged in clear.
    caller           text,
    did              text not null,
    started_at       timestamptz not null,
    answered_at      timestamptz,
    ended_at         timestamptz,
    in_hours         boolean not null,
    -- The IVR path, one token per step (e.g. {menu:1, nre, birth, offer, confirm}).
    menu_path        text[] not null default '{}',
    -- What the caller keyed that an agent may need (NRE, booking number);
    -- never a codice fiscale.
    keyed            jsonb not null default '{}',
    outcome          call_outcome not null default 'in_progress',
    queue_name       text,
    queue_entered_at timestamptz,
    queue_left_at    timestamptz,
    agent            text,
    recall_id        bigint,
    booking_number   text,
    check (ended_at is null or ended_at >= started_at)
);
create index calls_started_at on calls (started_at);

create type recall_reason as enum ('wait', 'out_of_hours');
create type recall_status as enum ('pending', 'dialling', 'connected', 'failed', 'cancelled');

create table recall_requests (
    id               bigint generated always as identity primary key,
    -- E.164 Italian number to call back.
    phone            text not null check (phone ~ '^\+39[0-9]{6,12}$'),
    reason           recall_reason not null,
    call_id          uuid references calls,
    queue_name       text not null default 'booking',
    priority         smallint not null default 0,
    -- When the caller first entered the queue: a returning recall keeps it.
    queue_entered_at timestamptz not null,
    requested_at     timestamptz not null,
    -- Not dialled before this instant (the next opening, spread by capacity).
    not_before       timestamptz not null,
    attempts         smallint not null default 0,
    next_attempt_at  timestamptz not null,
    status           recall_status not null default 'pending',
    -- Claim lease: the instance dialling it and until when; a dead
    -- instance's claim expires and the recall comes back.
    lease_owner      text,
    lease_until      timestamptz,
    updated_at       timestamptz not null
);
-- One open recall per number: a second request from the same number joins
-- the first instead of calling the citizen twice.
create unique index recall_requests_open_phone on recall_requests (phone)
    where status in ('pending', 'dialling');
create index recall_requests_due on recall_requests (next_attempt_at)
    where status = 'pending';

alter table calls add constraint calls_recall_fk foreign key (recall_id) references recall_requests;

-- +goose Down
alter table calls drop constraint calls_recall_fk;
drop table recall_requests;
drop type recall_status;
drop type recall_reason;
drop table calls;
drop type call_outcome;
drop type call_direction;

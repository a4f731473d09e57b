-- The recall dialler (SPEC §5). A request's life:
--   pending   waiting for its time (the next opening, or the next try)
--   queued    in its queue (Redis), waiting for its turn and a free agent
--   dialling  claimed by one instance until lease_until: agent rung, then
--             the citizen (citizen_channel, recorded before it is called)
--   connected the citizen answered and was bridged to the agent
--   failed    every try went unanswered (an SMS says so to a mobile)
--   expired   not served by valid_until
--   cancelled by a manager; served_inbound: the citizen called again and
--             was served meanwhile
-- One open request (pending, queued, dialling) per number.

-- +goose Up
alter table recall_requests
    add column valid_until     timestamptz,
    add column queued_at       timestamptz,
    add column citizen_channel text,
    add column agent           text,
    add column connected_at    timestamptz,
    add column closed_at       timestamptz,
    add column prealert_at     timestamptz,
    add column last_result     text;
update recall_requests set valid_until = not_before + interval '1 day';
alter table recall_requests alter column valid_until set not null;

drop index recall_requests_open_phone;
create unique index recall_requests_open_phone on recall_requests (phone)
    where status in ('pending', 'queued', 'dialling');
create index recall_requests_queued on recall_requests (queued_at) where status = 'queued';
create index recall_requests_dialling on recall_requests (lease_until) where status = 'dialling';
create index recall_requests_open_until on recall_requests (valid_until) where status in ('pending', 'queued');

create index calls_recall on calls (recall_id) where recall_id is not null;

-- +goose Down
drop index calls_recall;
drop index recall_requests_open_until;
drop index recall_requests_dialling;
drop index recall_requests_queued;
drop index recall_requests_open_phone;
create unique index recall_requests_open_phone on recall_requests (phone)
    where status in ('pending', 'dialling');
alter table recall_requests
    drop column valid_until, drop column queued_at, drop column citizen_channel, drop column agent,
    drop column connected_at, drop column closed_at, drop column prealert_at, drop column last_result;

-- Who may do what (SPEC §10): holds are counted by the credential that
-- took them (a cap per credential); an SMS's send time is kept apart from
-- its last update (a delivery receipt must not decide which booking a
-- reply cancels); every inbound SMS is stored, once by its MessageSid,
-- before it is acted on.

-- +goose Up
alter table slots add column hold_owner text;
create index slots_hold_owner on slots (hold_owner, held_until) where hold_owner is not null;

alter table sms_outbox add column sent_at timestamptz;
update sms_outbox set sent_at = updated_at where status in ('accepted', 'delivered');
create index sms_outbox_sent on sms_outbox (phone, sent_at) where sent_at is not null;

create table sms_inbound (
    id           bigint generated always as identity primary key,
    -- Twilio's id of the message: a replayed webhook finds it taken.
    message_sid  text not null unique,
    -- E.164; personal data: never logged in clear.
    phone        text not null,
    body         text not null,
    received_at  timestamptz not null,
    -- Claimed by a processor until lease_until (a dead one's claim ends).
    lease_owner  text,
    lease_until  timestamptz,
    attempts     smallint not null default 0,
    processed_at timestamptz,
    -- What was done: cancelled, none_to_cancel, opted_out, opted_in, ignored.
    result       text
);
create index sms_inbound_todo on sms_inbound (received_at) where processed_at is null;

-- +goose Down
drop table sms_inbound;
drop index sms_outbox_sent;
alter table sms_outbox drop column sent_at;
drop index slots_hold_owner;
alter table slots drop column hold_owner;

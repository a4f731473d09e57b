-- A call record is written when the call arrives, so a call that dies with
-- the controller still leaves a row (outcome in_progress).
insert into calls (id, channel_id, direction, caller, did, started_at, in_hours)
values (@id, @channel_id, @direction::call_direction, @caller, @did, @now, @in_hours)
on conflict (channel_id) do nothing

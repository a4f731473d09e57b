-- Take a hold on a slot that is free now and has not started, for @owner
-- (a credential; empty for the IVR, which holds one slot a call). An
-- expired hold of someone else is simply overwritten.
update slots
   set hold_token = @token, held_until = @until, hold_owner = nullif(@owner::text, '')
 where id = @slot_id
   and booking_id is null
   and (held_until is null or held_until <= @now)
   and starts_at > @now
returning id

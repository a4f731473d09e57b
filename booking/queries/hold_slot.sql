-- Take a hold on a slot that is free now and has not started. An expired
-- hold of someone else is simply overwritten.
update slots
   set hold_token = @token, held_until = @until
 where id = @slot_id
   and booking_id is null
   and (held_until is null or held_until <= @now)
   and starts_at > @now
returning id

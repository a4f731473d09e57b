-- The slot behind a live hold, locked for the booking transaction.
select id, service_code, starts_at
  from slots
 where hold_token = @token and held_until > @now and booking_id is null
   for update

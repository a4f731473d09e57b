-- Change a booking's state. The trigger frees the slot when the new state
-- no longer holds it.
update bookings
   set status = @status::booking_status,
       cancellation_code = @cancellation_code,
       moved_to = @moved_to,
       updated_at = @now
 where id = @id

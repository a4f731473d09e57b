-- A cancelled or moved booking's pending messages of a kind are withdrawn.
update sms_outbox
   set status = 'withdrawn', updated_at = @now
 where booking_number = @booking_number and kind = @kind and status = 'pending'

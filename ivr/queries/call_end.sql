-- Ends a call once: a second end (hang-up racing the flow's own end) keeps
-- the first outcome.
update calls
   set ended_at = @now, outcome = @outcome::call_outcome,
       booking_number = coalesce(@booking_number, booking_number),
       recall_id = coalesce(@recall_id, recall_id)
 where id = @id and ended_at is null

-- Ends a call once: a second end (hang-up racing the flow's own end) keeps
-- the first outcome, except a transfer, after which the call may come back.
-- What it returns labels the ending's metric; no row: nothing changed.
update calls
   set ended_at = @now, outcome = @outcome::call_outcome,
       booking_number = coalesce(@booking_number, booking_number),
       recall_id = coalesce(@recall_id, recall_id),
       agent = coalesce(@agent, agent),
       queue_name = coalesce(@queue_name, queue_name),
       -- A caller back from the queue keeps when it first entered.
       queue_entered_at = coalesce(queue_entered_at, @queue_entered_at),
       queue_left_at = coalesce(@queue_left_at, queue_left_at)
 where id = @id and (ended_at is null or outcome = 'transferred')
returning direction::text, in_hours, coalesce(queue_name, '')

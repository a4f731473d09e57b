-- The citizen called again and was served: a recall not yet being
-- dialled is closed, nobody is called for nothing.
update recall_requests
   set status = 'served_inbound', closed_at = @now, updated_at = @now
 where phone = @phone and status in ('pending', 'queued')
returning id

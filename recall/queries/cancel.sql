-- A manager cancels an open recall not being dialled.
update recall_requests
   set status = 'cancelled', closed_at = @now, updated_at = @now
 where id = @id and status in ('pending', 'queued')
returning id

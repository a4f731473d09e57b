-- The agent did not answer: the recall waits in its queue again, no try
-- spent.
update recall_requests
   set status = 'queued', lease_owner = null, lease_until = null, agent = null, updated_at = @now
 where id = @id and status = 'dialling' and lease_owner = @owner

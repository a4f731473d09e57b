-- An agent is reserved for a queued recall: the instance dialling it
-- claims it until @lease_until. Nothing comes back when it is no longer
-- queued (cancelled, expired, served meanwhile, or claimed elsewhere).
update recall_requests
   set status = 'dialling', lease_owner = @owner, lease_until = @lease_until, agent = @agent,
       citizen_channel = null, updated_at = @now
 where id = @id and status = 'queued'
returning phone, reason::text, priority, requested_at, queue_entered_at, attempts, call_id

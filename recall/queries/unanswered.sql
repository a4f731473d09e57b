-- The citizen did not answer (@result: busy, no_answer, unreachable): a
-- try spent; the next at @next, or failed after the last.
update recall_requests
   set attempts = attempts + 1, last_result = @result,
       status = case when attempts + 1 >= @tries then 'failed'::recall_status else 'pending'::recall_status end,
       closed_at = case when attempts + 1 >= @tries then @now::timestamptz end,
       next_attempt_at = @next, lease_owner = null, lease_until = null, agent = null, citizen_channel = null,
       updated_at = @now
 where id = @id and status = 'dialling' and lease_owner = @owner
returning status::text, phone

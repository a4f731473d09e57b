-- A recall paired out of hours (a wait recall still in its queue at the
-- closing) waits for the opening @next, no try spent; promote.sql enters
-- it again then, at its rank.
update recall_requests
   set status = 'pending', next_attempt_at = @next, updated_at = @now
 where id = @id and status = 'queued'

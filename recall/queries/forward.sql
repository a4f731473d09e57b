-- A manager brings a recall forward: first in its queue's lane, and due
-- now when it waits for its time.
update recall_requests
   set priority = 9, next_attempt_at = least(next_attempt_at, @now), updated_at = @now
 where id = @id and status in ('pending', 'queued')
returning status::text

-- Recalls not served by the end of their validity expire.
update recall_requests
   set status = 'expired', closed_at = @now, updated_at = @now
 where status in ('pending', 'queued') and valid_until <= @now
returning id, reason::text

-- The citizen answered: connected, before the bridge (a citizen bridged is
-- never called again).
update recall_requests
   set status = 'connected', connected_at = @now, closed_at = @now, attempts = attempts + 1, last_result = 'connected',
       lease_owner = null, lease_until = null, updated_at = @now
 where id = @id and status = 'dialling' and lease_owner = @owner
returning requested_at

-- The citizen is about to be called on @channel: on record first, so that
-- a dial whose instance dies is never placed again at the same time.
update recall_requests
   set citizen_channel = @channel, lease_until = @lease_until, updated_at = @now
 where id = @id and status = 'dialling' and lease_owner = @owner

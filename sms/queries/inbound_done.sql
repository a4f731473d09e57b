-- A reply acted on, with what was done.
update sms_inbound
   set processed_at = @now, result = @result, lease_owner = null, lease_until = null
 where id = @id and lease_owner = @owner

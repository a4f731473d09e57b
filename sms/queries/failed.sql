-- A final failure: never retried.
update sms_outbox
   set status = 'failed', error_code = @code, lease_owner = null, lease_until = null, updated_at = @now
 where id = @id and status = 'sending' and lease_owner = @owner

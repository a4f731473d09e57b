-- A transient failure: back to pending for a later attempt.
update sms_outbox
   set status = 'pending', next_attempt_at = @at, error_code = @code, lease_owner = null, lease_until = null, updated_at = @now
 where id = @id and status = 'sending' and lease_owner = @owner

-- Quiet hours when it was claimed: back to pending, unsent, for the first
-- allowed minute; the claim was no attempt.
update sms_outbox
   set status = 'pending', next_attempt_at = @at, attempts = attempts - 1, lease_owner = null, lease_until = null, updated_at = @now
 where id = @id and status = 'sending' and lease_owner = @owner

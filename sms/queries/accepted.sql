-- Twilio accepted the message: only the sender holding the lease records it.
update sms_outbox
   set status = 'accepted', message_sid = @sid, sent_at = @now, lease_owner = null, lease_until = null, updated_at = @now
 where id = @id and status = 'sending' and lease_owner = @owner

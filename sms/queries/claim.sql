-- Claims due messages for one sender: pending ones whose time has come, and
-- sending ones whose sender's lease ran out (it died). Skip-locked: two
-- senders never claim the same row.
update sms_outbox o
   set status = 'sending', lease_owner = @owner, lease_until = @lease_until,
       attempts = attempts + 1, updated_at = @now
  from (select id from sms_outbox
         where status in ('pending', 'sending')
           and next_attempt_at <= @now
           and (status = 'pending' or lease_until < @now)
         order by next_attempt_at
         limit @n
           for update skip locked) due
 where o.id = due.id
returning o.id, o.idempotency_key, o.kind, o.phone, o.body, o.attempts, o.message_sid

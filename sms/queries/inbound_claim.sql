-- Replies to act on, at most @n, each claimed until @lease_until (a dead
-- processor's claim ends and another takes the reply up).
update sms_inbound i
   set lease_owner = @owner, lease_until = @lease_until, attempts = attempts + 1
  from (select id from sms_inbound
         where processed_at is null and (lease_until is null or lease_until < @now)
         order by received_at, id
         limit @n
           for update skip locked) todo
 where i.id = todo.id
returning i.id, i.message_sid, i.phone, i.body, i.attempts

-- Recalls whose time has come enter their queue: pending ones due by @now
-- (the opening, the next try), at most @n, skipping those another
-- instance is promoting. What a queue entry needs comes back.
with due as (
    select id from recall_requests
     where status = 'pending' and next_attempt_at <= @now
     order by next_attempt_at, id
     limit @n
       for update skip locked
)
update recall_requests r
   set status = 'queued', queued_at = @now, updated_at = @now
  from due
 where r.id = due.id
returning r.id, r.phone, r.reason::text, r.queue_name, r.priority, r.queue_entered_at, r.requested_at,
          r.next_attempt_at, r.prealert_at is not null,
          coalesce((select c.keyed from calls c where c.id = r.call_id), '{}'::jsonb)

-- Recalls in their queue since before @before, after @after (by id), at
-- most @n: the scheduler checks they are still in Redis.
select r.id, r.phone, r.reason::text, r.queue_name, r.priority, r.queue_entered_at, r.requested_at,
       r.next_attempt_at, r.prealert_at is not null,
       coalesce((select c.keyed from calls c where c.id = r.call_id), '{}'::jsonb)
  from recall_requests r
 where r.status = 'queued' and r.queued_at < @before and r.id > @after
 order by r.id
 limit @n

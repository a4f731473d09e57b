-- Dials whose instance died (the lease ran out). One that had not called
-- the citizen goes back to its queue (no try spent); one that had, counts
-- a try ("interrupted", its channel hung up by the caller of this) and
-- waits for the next, or fails after the last; the caller of this ends
-- that try's call record (open_try.sql).
with dead as (
    select id, citizen_channel as channel, agent from recall_requests
     where status = 'dialling' and lease_until < @now
     limit 100
       for update skip locked
)
update recall_requests r
   set status = case when dead.channel is null then 'queued'::recall_status
                     when r.attempts + 1 >= @tries then 'failed'::recall_status
                     else 'pending'::recall_status end,
       attempts = r.attempts + (dead.channel is not null)::int,
       last_result = case when dead.channel is null then r.last_result else 'interrupted' end,
       next_attempt_at = case when dead.channel is null then r.next_attempt_at else @next end,
       queued_at = case when dead.channel is null then @now else r.queued_at end,
       closed_at = case when dead.channel is not null and r.attempts + 1 >= @tries then @now end,
       lease_owner = null, lease_until = null, agent = null, citizen_channel = null, updated_at = @now
  from dead
 where r.id = dead.id
returning coalesce(dead.channel, ''), coalesce(dead.agent, ''), r.status::text, r.id, r.phone, r.reason::text, r.queue_name, r.priority,
          r.queue_entered_at, r.requested_at, r.next_attempt_at, r.prealert_at is not null,
          coalesce((select c.keyed from calls c where c.id = r.call_id), '{}'::jsonb)

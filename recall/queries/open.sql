-- The open recalls, first to be served first.
select id, phone, reason::text, queue_name, status::text, priority, requested_at, queue_entered_at,
       attempts, next_attempt_at, valid_until, coalesce(agent, ''), coalesce(last_result, '')
  from recall_requests
 where status in ('pending', 'queued', 'dialling')
 order by priority desc, case when reason = 'wait' then queue_entered_at else requested_at end, id
 limit @n

-- Open recalls by reason, and when the oldest was asked.
select reason::text, count(*), min(requested_at)
  from recall_requests
 where status in ('pending', 'queued', 'dialling')
 group by reason

-- Open recalls (waiting for their time, in their queue, or being
-- dialled) by reason, and when the oldest of each was asked: the
-- wallboard's figure, the same as centralino_recalls_pending and
-- centralino_recalls_oldest_pending_seconds.
select reason::text, count(*), min(requested_at)
  from recall_requests
 where status in ('pending', 'queued', 'dialling')
 group by reason

-- A new recall request, or the open one for the same number: a citizen who
-- asks twice is called once, with the earlier queue time kept. A wait
-- recall (the caller is in the queue now, status queued) brings a pending
-- one of the same number into the queue with it.
with ins as (
    insert into recall_requests (phone, reason, call_id, queue_name, priority, queue_entered_at,
                                 requested_at, not_before, next_attempt_at, valid_until, status, queued_at, updated_at)
    values (@phone, @reason::recall_reason, @call_id, @queue_name, @priority, @queue_entered_at,
            @now, @not_before, @not_before, @valid_until, @status::recall_status,
            case when @status::text = 'queued' then @now::timestamptz end, @now)
    on conflict (phone) where status in ('pending', 'queued', 'dialling') do update
       set queue_entered_at = least(recall_requests.queue_entered_at, excluded.queue_entered_at),
           status = case when excluded.status = 'queued' and recall_requests.status = 'pending'
                         then excluded.status else recall_requests.status end,
           reason = case when excluded.status = 'queued' and recall_requests.status in ('pending', 'queued')
                         then excluded.reason else recall_requests.reason end,
           queued_at = coalesce(recall_requests.queued_at, excluded.queued_at),
           valid_until = greatest(recall_requests.valid_until, excluded.valid_until),
           updated_at = excluded.updated_at
    returning id, not_before, (xmax = 0) as created, status::text
)
select id, not_before, created, status from ins

-- A new recall request, or the open one for the same number: a citizen who
-- asks twice is called once, with the earlier queue time kept.
with ins as (
    insert into recall_requests (phone, reason, call_id, queue_name, priority, queue_entered_at,
                                 requested_at, not_before, next_attempt_at, updated_at)
    values (@phone, @reason::recall_reason, @call_id, @queue_name, @priority, @queue_entered_at,
            @now, @not_before, @not_before, @now)
    on conflict (phone) where status in ('pending', 'dialling') do update
       set queue_entered_at = least(recall_requests.queue_entered_at, excluded.queue_entered_at),
           updated_at = excluded.updated_at
    returning id, not_before, (xmax = 0) as created
)
select id, not_before, created from ins

-- The manager's table (SPEC §8) for the calls that started in [@from, @to),
-- one row per @by bucket ('day', 'week' or 'month' in @tz, or 'period':
-- one row). Definitions (docs/metrics.md), the same in PromQL:
--   queued     an inbound call handed to a queue (queue_entered_at set)
--   wait       from first entering the queue to leaving it (to the
--              agent's answer), or to the call's end when the queue did
--              not say (a hand-off that failed, app_queue)
--   answered   queued and answered by an agent; within X s: wait <= X s
--   abandoned  queued and hung up waiting; short: wait <= @short_abandon
--   recall     queued and accepted the recall offer (neither of the above)
--   failed     queued and ended by a technical failure: counted against
--              the service level, as a call not answered
--   transferred handed to Asterisk's app_queue, whose end centralino does
--              not see: out of every ratio, shown apart
--   base       answered + abandoned - short abandons + failed
--   service level at X s = answered within X s / base
--   abandoned (%) = (abandoned - short abandons) / base
--   ASA        mean wait of the answered
with c as (
    select direction, in_hours, outcome,
           direction = 'inbound' and queue_entered_at is not null as queued,
           coalesce(queue_left_at, ended_at) - queue_entered_at as wait,
           greatest(case when @by::text = 'period' then @from::timestamptz
                         else date_trunc(@by::text, started_at, @tz::text) end, @from::timestamptz) as bucket
      from calls
     where started_at >= @from and started_at < @to
), f as (
    select bucket,
           count(*) as calls,
           count(*) filter (where direction = 'inbound' and in_hours) as in_hours,
           count(*) filter (where direction = 'inbound' and not in_hours) as out_of_hours,
           count(*) filter (where direction = 'recall') as recalls_made,
           count(*) filter (where queued) as queued,
           count(*) filter (where queued and outcome = 'agent_answered') as answered,
           count(*) filter (where queued and outcome = 'agent_answered' and wait <= interval '30 seconds') as answered_30s,
           count(*) filter (where queued and outcome = 'agent_answered' and wait <= interval '60 seconds') as answered_60s,
           count(*) filter (where queued and outcome = 'abandoned') as abandoned,
           count(*) filter (where queued and outcome = 'abandoned' and wait <= @short_abandon::interval) as short_abandoned,
           count(*) filter (where queued and outcome = 'recall_requested') as recall_accepted,
           count(*) filter (where queued and outcome = 'failed') as failed,
           count(*) filter (where queued and outcome = 'transferred') as transferred,
           avg(extract(epoch from wait)) filter (where queued and outcome = 'agent_answered') as asa_s,
           count(*) filter (where direction = 'inbound' and outcome in ('self_booked', 'self_cancelled', 'self_moved')) as self_service
      from c
     group by bucket
)
select bucket, calls, in_hours, out_of_hours, recalls_made, queued, answered, answered_30s, answered_60s,
       abandoned, short_abandoned, recall_accepted, failed, transferred, self_service,
       answered_30s::float8 / nullif(answered + abandoned - short_abandoned + failed, 0) as service_level_30s,
       answered_60s::float8 / nullif(answered + abandoned - short_abandoned + failed, 0) as service_level_60s,
       (abandoned - short_abandoned)::float8 / nullif(answered + abandoned - short_abandoned + failed, 0) as abandoned_ratio,
       asa_s::float8
  from f
 order by bucket

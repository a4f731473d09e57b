-- The arrival profile: per half hour of the day in @tz (0 = 00:00, 1 =
-- 00:30, ... 47 = 23:30), the inbound calls that started then and the
-- calls handed to a queue then (by when they entered it), over the calls
-- that started in [@from, @to).
with c as (
    select started_at, queue_entered_at
      from calls
     where direction = 'inbound' and started_at >= @from and started_at < @to
), marks as (
    select started_at at time zone @tz::text as local, 1 as arrived, 0 as queued from c
    union all
    select queue_entered_at at time zone @tz::text, 0, 1 from c where queue_entered_at is not null
)
select (extract(hour from local) * 2 + floor(extract(minute from local) / 30))::int as half_hour,
       sum(arrived)::bigint as arrivals, sum(queued)::bigint as queued
  from marks
 group by 1
 order by 1

-- What staffing needs of [@from, @to): the working days (local dates in
-- @tz with an inbound call in service hours), and the mean time an agent
-- talked with an answered caller (from the answer to the call's end).
select (select count(distinct (started_at at time zone @tz::text)::date) from calls
         where direction = 'inbound' and in_hours and started_at >= @from and started_at < @to) as working_days,
       avg(extract(epoch from ended_at - queue_left_at))::float8 as talk_s
  from calls
 where direction = 'inbound' and outcome = 'agent_answered' and queue_left_at is not null and ended_at is not null
   and started_at >= @from and started_at < @to

-- Recall figures for [@from, @to), counted when they happen, as the
-- metrics count them: requests stored in the period (by reason), recalls
-- whose citizen was connected in the period and the median time from
-- their request, recalls that expired in the period.
select (select count(*) from recall_requests
         where reason = 'wait' and requested_at >= @from and requested_at < @to) as requested_wait,
       (select count(*) from recall_requests
         where reason = 'out_of_hours' and requested_at >= @from and requested_at < @to) as requested_out_of_hours,
       count(*) as connected,
       percentile_cont(0.5) within group (order by extract(epoch from connected_at - requested_at))::float8 as median_to_connected_s,
       (select count(*) from recall_requests
         where status = 'expired' and closed_at >= @from and closed_at < @to) as expired
  from recall_requests
 where connected_at >= @from and connected_at < @to

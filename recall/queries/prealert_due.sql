-- Wait recalls in their queue that have had no pre-alert yet.
select id, queue_name, phone from recall_requests
 where status = 'queued' and reason = 'wait' and prealert_at is null
 order by id
 limit 1000

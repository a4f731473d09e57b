-- Calls with no end that started before @before, oldest first.
select id, channel_id from calls
 where ended_at is null and started_at < @before
 order by started_at

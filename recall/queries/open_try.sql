-- The call record, still open, of the try that called the citizen on
-- @channel (its instance died).
select id from calls
 where channel_id = @channel and direction = 'recall' and ended_at is null

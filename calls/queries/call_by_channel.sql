select id, started_at, in_hours from calls where channel_id = @channel_id

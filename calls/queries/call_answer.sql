update calls set answered_at = coalesce(answered_at, @now) where id = @id

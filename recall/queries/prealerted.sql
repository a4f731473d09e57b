-- A pre-alert is written (in the same transaction): once per recall.
update recall_requests set prealert_at = @now, updated_at = @now
 where id = @id and prealert_at is null

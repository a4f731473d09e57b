select status::text from recall_requests where id = @id

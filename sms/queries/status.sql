-- A status callback: delivered only after accepted; a failure is final
-- and never overwritten; repeated or late callbacks change nothing else.
-- The kind labels the status metric; no row: nothing changed.
update sms_outbox
   set status = @status::sms_status,
       error_code = coalesce(@code, error_code),
       updated_at = @now
 where message_sid = @sid
   and (   (@status = 'delivered' and status = 'accepted')
        or (@status = 'failed' and status in ('accepted', 'delivered')))
returning kind

-- A reply whose processing failed: tried again after @at.
update sms_inbound set lease_until = @at where id = @id and lease_owner = @owner

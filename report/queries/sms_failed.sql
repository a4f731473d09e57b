-- SMS that failed for good in [@from, @to): refused by Twilio (opted
-- out, landline, invalid) or reported undelivered by its callback; the
-- wallboard's "SMS non consegnati oggi".
select count(*)
  from sms_outbox
 where status = 'failed' and updated_at >= @from and updated_at < @to

-- The booking of the last reminder that reached a number.
select booking_number from sms_outbox
 where phone = @phone and kind = 'reminder' and status in ('accepted', 'delivered')
 order by updated_at desc, id desc
 limit 1

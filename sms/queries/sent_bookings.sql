-- The bookings whose confirmation or reminder was sent to a number, the
-- one sent last first (by send time: a delivery receipt arriving late
-- changes nothing).
select booking_number from sms_outbox
 where phone = @phone and kind in ('confirmation', 'reminder') and sent_at is not null and booking_number is not null
 group by booking_number
 order by max(sent_at) desc
 limit 20

-- The bookings whose reminders fall on the demo's morning (appointments
-- from @from to @to, the morning's hours five days on), at most @n, given
-- simulated mobile numbers: the seeded region's are fictitious (+39300…),
-- and a number that is not a mobile gets no SMS.
with due as (
  select b.id
  from bookings b join slots s on s.id = b.slot_id
  where b.status = 'booked' and s.starts_at >= @from and s.starts_at < @to
  order by s.starts_at, b.number
  limit @n
)
update bookings b
set phone = '+39348' || lpad((b.id % 10000000)::text, 7, '0')
from due
where b.id = due.id
returning b.number

-- Active bookings a citizen can cancel or move by phone (their
-- appointment two days away or more), in a fixed order.
select b.number, b.birth_date
from bookings b join slots s on s.id = b.slot_id
where b.status = 'booked' and s.starts_at > @now::timestamptz + interval '2 days'
order by b.number
limit @n

-- The latest booking made on the phone by this number, and whether it is
-- still active.
select number, status::text
from bookings
where phone = @phone and channel = 'ivr'
order by id desc
limit 1

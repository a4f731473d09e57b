-- Unused prescriptions a citizen can book by phone (not priority U, whose
-- service has free slots from tomorrow), in a fixed order.
select p.nre, p.birth_date
from prescriptions p
where p.priority in ('B', 'D', 'P')
  and not exists (select 1 from bookings b where b.prescription_nre = p.nre)
  and exists (select 1 from slots s where s.service_code = p.service_code and s.booking_id is null
              and s.starts_at > @now::timestamptz + interval '1 day')
order by p.nre
limit @n

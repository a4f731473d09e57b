-- A prescription and whether it already has an active booking.
select p.nre, p.fiscal_code, p.birth_date, p.service_code, p.priority::text, p.prescribed_on,
       exists (select 1 from bookings b
                where b.prescription_nre = p.nre
                  and b.status in ('booked', 'attended', 'no_show')) as used
  from prescriptions p
 where p.nre = @nre

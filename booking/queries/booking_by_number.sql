-- A booking with its slot, site, service and replacement.
select b.id, b.number, b.status::text, b.prescription_nre, p.priority::text,
       b.fiscal_code, b.birth_date, coalesce(b.phone, ''), b.channel::text,
       coalesce(b.cancellation_code, ''), coalesce(m.number, ''), b.created_at,
       s.id, s.service_code, s.starts_at, s.ends_at, s.agenda_id,
       si.id, si.name, si.short_name, si.address, si.city, si.owner_kind::text, si.owner_name,
       sv.code, sv.name, sv.short_name, sv.kind::text, sv.duration_minutes
  from bookings b
  join prescriptions p on p.nre = b.prescription_nre
  join slots s on s.id = b.slot_id
  join agendas a on a.id = s.agenda_id
  join sites si on si.id = a.site_id
  join services sv on sv.code = s.service_code
  left join bookings m on m.id = b.moved_to
 where b.number = @number

-- One slot with its site, whatever its state, and whether it is free now.
select s.id, s.service_code, s.starts_at, s.ends_at, s.agenda_id,
       si.id, si.name, si.short_name, si.address, si.city, si.owner_kind::text, si.owner_name,
       s.booking_id is null and (s.held_until is null or s.held_until <= @now) as free
  from slots s
  join agendas a on a.id = s.agenda_id
  join sites si on si.id = a.site_id
 where s.id = @slot_id

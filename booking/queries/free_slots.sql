-- Free slots of a service across every agenda of the region, in time order,
-- strictly after a cursor (starts_at, id). Free: no active booking and no
-- unexpired hold. Range scan on slots_free.
select s.id, s.service_code, s.starts_at, s.ends_at, s.agenda_id,
       si.id, si.name, si.short_name, si.address, si.city, si.owner_kind::text, si.owner_name
  from slots s
  join agendas a on a.id = s.agenda_id
  join sites si on si.id = a.site_id
 where s.service_code = @service_code
   and s.booking_id is null
   and (s.held_until is null or s.held_until <= @now)
   and (s.starts_at, s.id) > (@after_starts_at::timestamptz, @after_id::bigint)
 order by s.starts_at, s.id
 limit @limit

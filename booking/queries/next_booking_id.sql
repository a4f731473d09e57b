-- Allocated before insert so a move can point the old booking at the new.
select nextval(pg_get_serial_sequence('bookings', 'id'))

-- Lock a booking for a change (cancel, move, attendance).
select id from bookings where number = @number for update

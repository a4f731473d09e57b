-- The trigger bookings_sync_slot marks the slot booked and drops its hold.
-- A clash on the random number inserts nothing: the caller draws again.
insert into bookings (id, number, slot_id, prescription_nre, fiscal_code, birth_date,
                      phone, channel, status, created_at, updated_at)
values (@id, @number, @slot_id, @nre, @fiscal_code, @birth_date,
        @phone, @channel::booking_channel, 'booked', @now, @now)
on conflict (number) do nothing
returning id

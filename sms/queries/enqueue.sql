-- A message once per idempotency key: a second enqueue changes nothing.
insert into sms_outbox (idempotency_key, kind, booking_number, phone, body, due_at, next_attempt_at, created_at, updated_at)
values (@key, @kind, @booking_number, @phone, @body, @due_at, @due_at, @now, @now)
on conflict (idempotency_key) do nothing
returning id

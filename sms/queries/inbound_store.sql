-- A citizen's reply, stored before anything is done with it: once by its
-- MessageSid, so a replayed webhook stores nothing and does nothing.
insert into sms_inbound (message_sid, phone, body, received_at)
values (@sid, @phone, @body, @now)
on conflict (message_sid) do nothing
returning id

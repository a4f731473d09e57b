-- A number that opted out (STOP, or Twilio's 21610).
insert into sms_optouts (phone, opted_out_at) values (@phone, @now)
on conflict (phone) do nothing

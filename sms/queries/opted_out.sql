select exists (select 1 from sms_optouts where phone = @phone)

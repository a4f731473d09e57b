-- START: the number may receive messages again.
delete from sms_optouts where phone = @phone

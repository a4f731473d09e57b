-- Give a held slot back. Releasing an unknown or expired token is a no-op.
update slots set hold_token = null, held_until = null
 where hold_token = @token and booking_id is null

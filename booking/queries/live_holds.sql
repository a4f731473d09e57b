-- The holds a credential has now.
select count(*) from slots where hold_owner = @owner and held_until > @now

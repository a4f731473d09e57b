-- Messages Twilio accepted, by kind.
select kind, count(*) from sms_outbox where status in ('accepted', 'delivered') group by kind order by kind

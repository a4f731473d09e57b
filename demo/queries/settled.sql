-- What still moves: recalls not yet over, calls not yet ended, messages
-- due and not yet sent.
select
  (select count(*) from recall_requests where status in ('pending', 'queued', 'dialling')),
  (select count(*) from calls where ended_at is null),
  (select count(*) from sms_outbox where status in ('pending', 'sending') and next_attempt_at <= @now)

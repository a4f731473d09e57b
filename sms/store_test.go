package sms_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/sms"
)

var now0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func reminder(number string, due time.Time) sms.Message {
	return sms.Message{Kind: sms.Reminder, BookingNumber: number, Phone: "+393471234567", Body: "CUP: promemoria", Due: due}
}

func TestEnqueueOncePerBookingAndKind(t *testing.T) {
	db := pgtest.NewDB(t)
	o := sms.NewOutbox(db)
	ctx := context.Background()
	created, err := o.Enqueue(ctx, db, reminder("123456789012", now0), now0)
	require.NoError(t, err)
	require.True(t, created)
	created, err = o.Enqueue(ctx, db, reminder("123456789012", now0.Add(time.Hour)), now0)
	require.NoError(t, err)
	require.False(t, created, "the same booking's reminder is not enqueued twice")
	conf := reminder("123456789012", now0)
	conf.Kind = sms.Confirmation
	created, err = o.Enqueue(ctx, db, conf, now0)
	require.NoError(t, err)
	require.True(t, created)

	// Bad input: a landline, a missing body; nothing written.
	bad := reminder("999999999999", now0)
	bad.Phone = "+390102345678"
	_, err = o.Enqueue(ctx, db, bad, now0)
	require.ErrorIs(t, err, sms.ErrInvalid)
	bad = reminder("999999999999", now0)
	bad.Body = ""
	_, err = o.Enqueue(ctx, db, bad, now0)
	require.ErrorIs(t, err, sms.ErrInvalid)
	var n int
	require.NoError(t, db.QueryRow(ctx, "select count(*) from sms_outbox").Scan(&n))
	require.Equal(t, 2, n)
}

// Two senders on one outbox claim every due message once; a message not
// yet due is not claimed; a dead sender's claims come back after its lease.
func TestClaimsAreExclusiveAndLeased(t *testing.T) {
	db := pgtest.NewDB(t)
	o := sms.NewOutbox(db)
	ctx := context.Background()
	for i := range 200 {
		_, err := o.Enqueue(ctx, db, reminder(string(rune('A'+i%26))+time.Duration(i).String(), now0), now0)
		require.NoError(t, err)
	}
	_, err := o.Enqueue(ctx, db, reminder("later", now0.Add(time.Hour)), now0)
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, owner := range []string{"s1", "s2", "s3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := o.Claim(ctx, owner, now0, 30*time.Second, 7)
				if err != nil || len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					if prev, dup := seen[c.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", c.ID, prev, owner)
					}
					seen[c.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, 200)

	// s1 died holding its messages: after the lease they come back, and s1
	// can no longer record anything for them.
	var s1 int64
	for id, owner := range seen {
		if owner == "s1" {
			s1 = id
			break
		}
	}
	got, err := o.Claim(ctx, "s2", now0.Add(29*time.Second), 30*time.Second, 500)
	require.NoError(t, err)
	require.Empty(t, got, "leases still held")
	got, err = o.Claim(ctx, "s2", now0.Add(31*time.Second), 30*time.Second, 500)
	require.NoError(t, err)
	require.Len(t, got, 200)
	require.Equal(t, 2, got[0].Attempts)
	require.ErrorIs(t, o.Accepted(ctx, s1, "s1", "SM1", now0.Add(32*time.Second)), sms.ErrLeaseLost)
	require.NoError(t, o.Accepted(ctx, s1, "s2", "SM1", now0.Add(32*time.Second)))
}

func TestRetryFailAndWithdraw(t *testing.T) {
	db := pgtest.NewDB(t)
	o := sms.NewOutbox(db)
	ctx := context.Background()
	for _, num := range []string{"111111111111", "222222222222", "333333333333"} {
		_, err := o.Enqueue(ctx, db, reminder(num, now0), now0)
		require.NoError(t, err)
	}
	// The booking 333... is cancelled before its reminder went.
	n, err := o.Withdraw(ctx, db, "333333333333", sms.Reminder, now0)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	got, err := o.Claim(ctx, "s1", now0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "the withdrawn reminder is not sent")
	byKey := map[string]sms.Claimed{}
	for _, c := range got {
		byKey[c.Key] = c
	}
	// 429: later. 21614 (landline): never again.
	require.NoError(t, o.Retry(ctx, byKey["reminder:111111111111"].ID, "s1", now0.Add(5*time.Minute), 429, now0))
	require.NoError(t, o.Fail(ctx, byKey["reminder:222222222222"].ID, "s1", 21614, now0))
	got, err = o.Claim(ctx, "s1", now0.Add(4*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = o.Claim(ctx, "s1", now0.Add(5*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "reminder:111111111111", got[0].Key)
	// Withdrawing after it was claimed changes nothing.
	n, err = o.Withdraw(ctx, db, "111111111111", sms.Reminder, now0)
	require.NoError(t, err)
	require.Zero(t, n)
}

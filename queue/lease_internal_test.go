package queue

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLeasesRingOnceAndHeedRevocations(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	ctx := context.Background()
	l := newLeases()
	lease := func(agent, token string) Lease {
		return Lease{Queue: "booking", Agent: agent, Token: token, Until: at.Add(3 * time.Second)}
	}
	le := lease("x", "1")
	l.put(le)
	got, ok := l.take(ctx, "booking", now)
	require.True(t, ok)
	require.Equal(t, le, got)
	l.claimed("booking", Lease{}, false)
	_, ok = l.take(ctx, "booking", now)
	require.False(t, ok, "a lease rings one agent once")

	// A renewal of the taken lease (a tick while its claim is in flight)
	// is not trusted again; the next lease is.
	l.put(le)
	_, ok = l.take(ctx, "booking", now)
	require.False(t, ok)
	l.put(lease("y", "2"))
	got, ok = l.take(ctx, "booking", now)
	require.True(t, ok)
	require.Equal(t, "y", got.Agent)
	l.claimed("booking", Lease{}, false)

	// A revocation that overtook its grant, by a tick or by a claim.
	l.revoke("booking", "3", at)
	l.put(lease("x", "3"))
	_, ok = l.take(ctx, "booking", now)
	require.False(t, ok)
	l.put(lease("x", "4"))
	_, ok = l.take(ctx, "booking", now)
	require.True(t, ok)
	l.revoke("booking", "5", at)
	l.claimed("booking", lease("y", "5"), true)
	_, ok = l.take(ctx, "booking", now)
	require.False(t, ok)

	// A revocation of the lease held; one of another lease leaves it.
	l.put(lease("x", "6"))
	l.revoke("booking", "2", at)
	l.revoke("booking", "6", at)
	_, ok = l.take(ctx, "booking", now)
	require.False(t, ok)
	l.put(lease("x", "7"))
	l.revoke("booking", "6", at)
	_, ok = l.take(ctx, "booking", now)
	require.True(t, ok)
	l.claimed("booking", Lease{}, false)

	// A lease past its trust is not used.
	l.put(lease("x", "8"))
	_, ok = l.take(ctx, "booking", func() time.Time { return at.Add(3 * time.Second) })
	require.False(t, ok)

	// Spent tokens are forgotten once no grant can be that late.
	l.revoke("booking", "9", at.Add(time.Minute))
	l.mu.Lock()
	require.Len(t, l.spent, 1)
	l.mu.Unlock()
}

// A caller arriving while another's claim is in flight waits for it and
// takes the next lease it brings, instead of going to Redis (where it would
// take the agent being claimed and withdraw the other's ring).
func TestLeasesWaitForTheClaimInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		now := func() time.Time { return at }
		ctx := context.Background()
		l := newLeases()
		l.put(Lease{Queue: "booking", Agent: "x", Token: "1", Until: at.Add(3 * time.Second)})
		_, ok := l.take(ctx, "booking", now)
		require.True(t, ok)

		got := make(chan Lease, 1)
		go func() {
			le, ok := l.take(ctx, "booking", now)
			if ok {
				got <- le
			}
			close(got)
		}()
		time.Sleep(claimWait / 2)
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("the second caller did not wait for the claim")
		default:
		}
		l.claimed("booking", Lease{Queue: "booking", Agent: "y", Token: "2", Until: at.Add(3 * time.Second)}, true)
		le, ok := <-got
		require.True(t, ok)
		require.Equal(t, "y", le.Agent)

		// y's claim brings no lease: the waiter goes to Redis.
		took := make(chan bool, 1)
		go func() {
			_, ok := l.take(ctx, "booking", now)
			took <- ok
		}()
		synctest.Wait() // the waiter waits for the claim
		l.claimed("booking", Lease{}, false)
		require.False(t, <-took)

		// A claim that does not return in time: the waiter goes to Redis
		// after claimWait, not before.
		l.put(Lease{Queue: "booking", Agent: "z", Token: "3", Until: at.Add(3 * time.Second)})
		_, ok = l.take(ctx, "booking", now)
		require.True(t, ok)
		start := time.Now()
		_, ok = l.take(ctx, "booking", now)
		require.False(t, ok)
		require.Equal(t, claimWait, time.Since(start))
	})
}

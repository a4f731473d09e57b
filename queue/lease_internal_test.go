package queue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLeasesRingOnceAndHeedRevocations(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := newLeases()
	le := Lease{Queue: "booking", Agent: "x", Token: "1", Until: now.Add(3 * time.Second)}
	l.put(le)
	got, ok := l.take("booking", now)
	require.True(t, ok)
	require.Equal(t, le, got)
	_, ok = l.take("booking", now)
	require.False(t, ok, "a lease rings one agent once")

	// A renewal of the taken lease (a tick while its claim is in flight)
	// is not trusted again; the next lease is.
	l.put(le)
	_, ok = l.take("booking", now)
	require.False(t, ok)
	l.put(Lease{Queue: "booking", Agent: "y", Token: "2", Until: now.Add(3 * time.Second)})
	got, ok = l.take("booking", now)
	require.True(t, ok)
	require.Equal(t, "y", got.Agent)

	// A revocation that overtook its grant.
	l.revoke("booking", "3", now)
	l.put(Lease{Queue: "booking", Agent: "x", Token: "3", Until: now.Add(3 * time.Second)})
	_, ok = l.take("booking", now)
	require.False(t, ok)

	// A revocation of the lease held; one of another lease leaves it.
	l.put(Lease{Queue: "booking", Agent: "x", Token: "4", Until: now.Add(3 * time.Second)})
	l.revoke("booking", "2", now)
	l.revoke("booking", "4", now)
	_, ok = l.take("booking", now)
	require.False(t, ok)
	l.put(Lease{Queue: "booking", Agent: "x", Token: "5", Until: now.Add(3 * time.Second)})
	l.revoke("booking", "4", now)
	_, ok = l.take("booking", now)
	require.True(t, ok)

	// A lease past its trust is not used.
	l.put(Lease{Queue: "booking", Agent: "x", Token: "6", Until: now.Add(3 * time.Second)})
	_, ok = l.take("booking", now.Add(3*time.Second))
	require.False(t, ok)

	// Spent tokens are forgotten once no grant can be that late.
	later := now.Add(time.Minute)
	l.revoke("booking", "7", later)
	l.mu.Lock()
	require.Len(t, l.spent, 1)
	l.mu.Unlock()
}

package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/queue"
)

// leaseRig: a store with agents x (idle the longest) and y ready in
// booking, and the instance channels of i1 and i2 subscribed.
type leaseRig struct {
	s    *queue.Store
	svc  *queue.Service
	rdb  *redis.Client
	pre  string
	subs map[string]<-chan *redis.Message
}

func newLeaseRig(t *testing.T) *leaseRig {
	t.Helper()
	s, rdb, prefix := newStore(t)
	ctx := context.Background()
	now := t0
	svc := queue.NewService(s, queue.Options{Clock: func() time.Time { return now }, Log: quiet()})
	r := &leaseRig{s: s, svc: svc, rdb: rdb, pre: prefix, subs: map[string]<-chan *redis.Message{}}
	for _, inst := range []string{"i1", "i2"} {
		sub := s.Subscribe(ctx, inst)
		_, err := sub.Receive(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { sub.Close() })
		r.subs[inst] = sub.Channel()
	}
	for _, id := range []string{"x", "y"} {
		require.NoError(t, svc.Login(ctx, id, "PJSIP/"+id, []string{"booking"}))
		require.NoError(t, svc.Ready(ctx, id))
		now = now.Add(time.Second)
	}
	return r
}

func (r *leaseRig) acquire(t *testing.T, inst string) (queue.Lease, bool) {
	t.Helper()
	l, ok, err := r.s.AcquireLease(context.Background(), "booking", inst, t0.Add(time.Minute), 5*time.Second)
	require.NoError(t, err)
	return l, ok
}

func (r *leaseRig) claim(t *testing.T, id string, prio int, l queue.Lease) (bool, queue.Lease, bool) {
	t.Helper()
	now := t0.Add(time.Minute)
	ok, next, hasNext, err := r.s.Claim(context.Background(), queue.Waiting{CallID: id, Queue: "booking", Priority: prio,
		Entered: now, Caller: "+39347", Owner: "i1"}, l, now, 5*time.Second)
	require.NoError(t, err)
	return ok, next, hasNext
}

// heard is the next message on inst's channel, or "" within a second.
func (r *leaseRig) heard(inst string) string {
	select {
	case m := <-r.subs[inst]:
		return m.Payload
	case <-time.After(time.Second):
		return ""
	}
}

func TestLeaseIsTheLongestIdleAgentForOneInstance(t *testing.T) {
	r := newLeaseRig(t)
	l, ok := r.acquire(t, "i1")
	require.True(t, ok)
	require.Equal(t, "x", l.Agent, "the longest-idle ready agent")
	require.Equal(t, "PJSIP/x", l.Endpoint)
	require.Equal(t, t0.Add(time.Minute+3*time.Second), l.Until, "trusted short of its expiry")

	// One holder at a time; the holder renews the same lease.
	_, ok = r.acquire(t, "i2")
	require.False(t, ok)
	again, ok := r.acquire(t, "i1")
	require.True(t, ok)
	require.Equal(t, l.Token, again.Token)
	ttl, err := r.rdb.PTTL(context.Background(), r.pre+":lease:booking").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 4*time.Second)

	// The lease stays on x: x is still ready for everyone.
	require.Equal(t, queue.Ready, mustAgent(t, r.s, "x").State)

	// A caller waiting goes first: no lease while the queue is not empty.
	require.NoError(t, r.s.Enqueue(context.Background(), queue.Waiting{CallID: "w", Queue: "booking", Entered: t0, Owner: "i2"}))
	_, ok = r.acquire(t, "i1")
	require.False(t, ok)
	n, err := r.rdb.Exists(context.Background(), r.pre+":lease:booking").Result()
	require.NoError(t, err)
	require.Zero(t, n, "the lease is ended")
}

func TestClaimRecordsTheCallerRingingAndGivesTheNextLease(t *testing.T) {
	r := newLeaseRig(t)
	l, ok := r.acquire(t, "i1")
	require.True(t, ok)
	claimed, next, hasNext := r.claim(t, "c1", 0, l)
	require.True(t, claimed)
	x := mustAgent(t, r.s, "x")
	require.Equal(t, queue.Ringing, x.State)
	require.Equal(t, "c1", x.CallID)
	info, err := r.s.Call(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, queue.StateRinging, info.State)
	require.Equal(t, "x", info.Agent)
	require.Equal(t, "+39347", info.Caller)
	waiting, err := r.s.Waiting(context.Background(), "booking")
	require.NoError(t, err)
	require.Empty(t, waiting, "the caller never waited")

	require.True(t, hasNext)
	require.Equal(t, "y", next.Agent)
	require.NotEqual(t, l.Token, next.Token)
	require.Empty(t, r.heard("i1"), "the holder is not told of its own claim")

	// The spent lease cannot ring again, and the last free agent's lease
	// leaves none behind.
	claimed, _, _ = r.claim(t, "c2", 0, l)
	require.False(t, claimed)
	claimed, _, hasNext = r.claim(t, "c3", 0, next)
	require.True(t, claimed)
	require.False(t, hasNext, "no agent left")
}

// Whoever pairs the leased agent first takes it (it is the longest idle):
// the holder is told, and its claim in flight changes nothing.
func TestAssignElsewhereRevokesTheLease(t *testing.T) {
	r := newLeaseRig(t)
	ctx := context.Background()
	l, ok := r.acquire(t, "i1")
	require.True(t, ok)
	a, ok, err := r.s.EnqueueAssign(ctx, queue.Waiting{CallID: "other", Queue: "booking", Entered: t0, Owner: "i2"}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "x", a.AgentID, "the longest-idle agent, leased or not")
	require.Equal(t, "revoke|booking|"+l.Token, r.heard("i1"))

	claimed, next, hasNext := r.claim(t, "mine", 0, l)
	require.False(t, claimed)
	_, err = r.s.Call(ctx, "mine")
	require.ErrorIs(t, err, queue.ErrNotWaiting, "nothing recorded of the withdrawn caller")
	x := mustAgent(t, r.s, "x")
	require.Equal(t, "other", x.CallID)
	require.True(t, hasNext, "the holder gets the next lease")
	require.Equal(t, "y", next.Agent)
}

func TestAgentStateChangeRevokesTheLease(t *testing.T) {
	r := newLeaseRig(t)
	l, ok := r.acquire(t, "i1")
	require.True(t, ok)
	require.NoError(t, r.svc.Pause(context.Background(), "x", "lunch"))
	require.Equal(t, "revoke|booking|"+l.Token, r.heard("i1"))
	claimed, _, _ := r.claim(t, "mine", 0, l)
	require.False(t, claimed)
	x := mustAgent(t, r.s, "x")
	require.Equal(t, queue.Paused, x.State)
	require.Equal(t, "lunch", x.Reason)

	// x is back and, y paused, leased again: the old lease stays spent.
	ctx := context.Background()
	require.NoError(t, r.svc.Ready(ctx, "x"))
	require.NoError(t, r.svc.Pause(ctx, "y", "meeting"))
	again, ok := r.acquire(t, "i1")
	require.True(t, ok)
	require.Equal(t, "x", again.Agent)
	claimed, _, _ = r.claim(t, "mine", 0, l)
	require.False(t, claimed, "a revoked lease on the same agent")

	// Whatever moved the agent, a lease on an agent no longer free rings
	// nobody.
	require.NoError(t, r.rdb.HSet(ctx, r.pre+":agent:x", "state", "paused").Err())
	claimed, _, _ = r.claim(t, "mine", 0, again)
	require.False(t, claimed)
}

// A caller who would jump a queue is not claimed: callers waiting ahead
// go first (one of a higher priority may pass).
func TestClaimKeepsTheQueueOrder(t *testing.T) {
	r := newLeaseRig(t)
	ctx := context.Background()
	l, ok := r.acquire(t, "i1")
	require.True(t, ok)
	// Queued without pairing (as a caller put back after a no-answer, until
	// the next dispatch).
	require.NoError(t, r.s.Enqueue(ctx, queue.Waiting{CallID: "ahead", Queue: "booking", Entered: t0, Owner: "i2"}))
	claimed, _, hasNext := r.claim(t, "late", 0, l)
	require.False(t, claimed)
	require.False(t, hasNext, "no lease while a caller waits")
	require.Equal(t, queue.Ready, mustAgent(t, r.s, "x").State)

	r2 := newLeaseRig(t)
	l, ok = r2.acquire(t, "i1")
	require.True(t, ok)
	require.NoError(t, r2.s.Enqueue(ctx, queue.Waiting{CallID: "ahead", Queue: "booking", Entered: t0, Owner: "i2"}))
	claimed, _, _ = r2.claim(t, "urgent", 5, l)
	require.True(t, claimed, "a higher priority goes first")
}

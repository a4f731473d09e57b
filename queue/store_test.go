package queue_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/queue/queuetest"
)

func newStore(t *testing.T) (*queue.Store, *redis.Client, string) { return queuetest.Store(t) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestOrderPriorityThenFirstEntry(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	add := func(id string, prio int, entered time.Time, recall bool) {
		require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: id, Queue: "booking", Priority: prio, Entered: entered, Recall: recall}))
	}
	add("late", 0, t0.Add(3*time.Minute), false)
	add("early", 0, t0.Add(1*time.Minute), false)
	add("urgent", 5, t0.Add(4*time.Minute), false)
	// A recall returning now keeps the time it first entered.
	add("recall", 0, t0, true)
	// Enqueueing again changes nothing.
	add("early", 0, t0.Add(10*time.Minute), false)
	ids, err := s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"urgent", "recall", "early", "late"}, ids)
	pos, err := s.Position(ctx, "booking", "early")
	require.NoError(t, err)
	require.Equal(t, 3, pos)
	pos, err = s.Position(ctx, "booking", "nobody")
	require.NoError(t, err)
	require.Zero(t, pos)

	waited, err := s.Leave(ctx, "recall", t0.Add(5*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, waited)
	_, err = s.Leave(ctx, "recall", t0)
	require.ErrorIs(t, err, queue.ErrNotWaiting)
	require.ErrorIs(t, s.Enqueue(ctx, queue.Waiting{CallID: "x", Queue: "booking", Priority: 12, Entered: t0}), queue.ErrInvalid)
}

func TestLongestIdleAgentWinsAndNoAnswerRequeues(t *testing.T) {
	s, _, _ := newStore(t)
	c := &clock{t: t0}
	svc := queue.NewService(s, queue.Options{Clock: c.Now, Log: quiet()})
	ctx := context.Background()
	for _, a := range []string{"anna", "bruno", "carla"} {
		require.NoError(t, svc.Login(ctx, a, "Local/a1@sim-agents/n", []string{"booking"}))
	}
	// Idle since: bruno first, then carla, then anna.
	require.NoError(t, svc.Ready(ctx, "bruno"))
	c.Advance(time.Second)
	require.NoError(t, svc.Ready(ctx, "carla"))
	c.Advance(time.Second)
	require.NoError(t, svc.Ready(ctx, "anna"))

	// Nobody waiting: no assignment.
	_, ok, err := s.Assign(ctx, "booking", c.Now())
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "c1", Queue: "booking", Entered: c.Now()}))
	c.Advance(time.Second)
	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "c2", Queue: "booking", Entered: c.Now()}))
	a, ok, err := s.Assign(ctx, "booking", c.Now())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, queue.Assignment{CallID: "c1", AgentID: "bruno", Endpoint: "Local/a1@sim-agents/n"}, a)

	// Bruno does not answer: paused, and c1 is back ahead of c2.
	require.NoError(t, svc.NoAnswer(ctx, a, "no_answer"))
	ag, err := s.Agent(ctx, "bruno")
	require.NoError(t, err)
	require.Equal(t, queue.Paused, ag.State)
	require.Equal(t, "no_answer", ag.Reason)
	ids, _ := s.Waiting(ctx, "booking")
	require.Equal(t, []string{"c1", "c2"}, ids)

	a, ok, err = s.Assign(ctx, "booking", c.Now())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "c1", a.CallID)
	require.Equal(t, "carla", a.AgentID, "the longest idle of those still ready")
	waited, err := svc.Connected(ctx, a)
	require.NoError(t, err)
	require.Equal(t, time.Second, waited)
	ag, _ = s.Agent(ctx, "carla")
	require.Equal(t, queue.Busy, ag.State)
	require.Equal(t, "c1", ag.CallID)
}

func TestPauseAndWrapUp(t *testing.T) {
	s, _, _ := newStore(t)
	c := &clock{t: t0}
	svc := queue.NewService(s, queue.Options{Clock: c.Now, WrapUp: 10 * time.Second, Log: quiet()})
	ctx := context.Background()
	require.NoError(t, svc.Login(ctx, "anna", "PJSIP/anna", []string{"booking", "cancellation"}))
	// Logged in but paused: no call for her.
	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "c1", Queue: "booking", Entered: c.Now()}))
	_, ok, err := s.Assign(ctx, "booking", c.Now())
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, svc.Ready(ctx, "anna"))
	a, ok, err := s.Assign(ctx, "booking", c.Now())
	require.NoError(t, err)
	require.True(t, ok)
	// Ringing: not offered in her other queue meanwhile.
	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "c2", Queue: "cancellation", Entered: c.Now()}))
	_, ok, _ = s.Assign(ctx, "cancellation", c.Now())
	require.False(t, ok)
	_, err = svc.Connected(ctx, a)
	require.NoError(t, err)
	// On a call she cannot log out or pause.
	require.ErrorIs(t, svc.Logout(ctx, "anna"), queue.ErrTransition)
	require.ErrorIs(t, svc.Pause(ctx, "anna", "coffee"), queue.ErrTransition)
	// The end of another call (a late report) leaves her talking.
	require.ErrorIs(t, svc.CallEnded(ctx, "anna", "c0"), queue.ErrTransition)
	require.Equal(t, queue.Busy, mustAgent(t, s, "anna").State)
	require.NoError(t, svc.CallEnded(ctx, "anna", a.CallID))
	// In wrap-up for 10 s.
	c.Advance(9 * time.Second)
	_, ok, _ = s.Assign(ctx, "cancellation", c.Now())
	require.False(t, ok)
	c.Advance(time.Second)
	a, ok, err = s.Assign(ctx, "cancellation", c.Now())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "c2", a.CallID)

	// A pause needs a reason; a bad endpoint is refused and changes nothing.
	require.ErrorIs(t, svc.Pause(ctx, "anna", " "), queue.ErrInvalid)
	require.ErrorIs(t, svc.Login(ctx, "bruno", "SIP/bruno", []string{"booking"}), queue.ErrInvalid)
	_, err = s.Agent(ctx, "bruno")
	require.ErrorIs(t, err, queue.ErrUnknownAgent)
}

// Two controller instances share one queue: racing assigners never hand
// one caller to two agents or one agent two callers.
func TestTwoInstancesAssignEachCallOnce(t *testing.T) {
	s1, rdb, prefix := newStore(t)
	s2 := queue.NewStore(rdb, prefix)
	ctx := context.Background()
	svc := queue.NewService(s1, queue.Options{Clock: time.Now, Log: quiet()})
	const agents, calls = 20, 50
	for i := range agents {
		id := "agent" + string(rune('a'+i))
		require.NoError(t, svc.Login(ctx, id, "PJSIP/"+id, []string{"booking"}))
		require.NoError(t, svc.Ready(ctx, id))
	}
	for i := range calls {
		require.NoError(t, s1.Enqueue(ctx, queue.Waiting{CallID: uuid.NewString(), Queue: "booking", Entered: t0.Add(time.Duration(i) * time.Second)}))
	}
	var mu sync.Mutex
	byCall, byAgent := map[string]int{}, map[string]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				a, ok, err := s.Assign(ctx, "booking", time.Now())
				if err != nil || !ok {
					return
				}
				mu.Lock()
				byCall[a.CallID]++
				byAgent[a.AgentID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, byCall, agents, "as many calls assigned as agents were ready")
	for id, n := range byCall {
		require.Equal(t, 1, n, id)
	}
	for id, n := range byAgent {
		require.Equal(t, 1, n, id)
	}
	left, _ := s2.Waiting(ctx, "booking")
	require.Len(t, left, calls-agents)
}

// An instance that dies leaves no agent stuck: once its heartbeat expires,
// its agents are freed, except one still talking (its leg up, for the next
// controller to take over); a live instance's agents are left alone.
func TestDeadInstanceReleasesItsAgents(t *testing.T) {
	s, _, _ := newStore(t)
	c := &clock{t: t0}
	svc := queue.NewService(s, queue.Options{Clock: c.Now, Log: quiet()})
	ctx := context.Background()
	for _, a := range []string{"anna", "bruno", "carla", "dario"} {
		require.NoError(t, svc.Login(ctx, a, "PJSIP/"+a, []string{"booking"}))
		require.NoError(t, svc.Ready(ctx, a))
		c.t = c.t.Add(time.Second) // anna idle the longest
	}
	require.NoError(t, s.Heartbeat(ctx, "alive", time.Minute))
	calls := []queue.Waiting{
		{CallID: "c-dead", Queue: "booking", Entered: t0, Owner: "dead"},
		{CallID: "c-alive", Queue: "booking", Entered: t0.Add(time.Second), Owner: "alive"},
		{CallID: "c-talking", Queue: "booking", Entered: t0.Add(2 * time.Second), Owner: "dead"},
		{CallID: "c-hung-up", Queue: "booking", Entered: t0.Add(3 * time.Second), Owner: "dead"},
	}
	var as []queue.Assignment
	for _, w := range calls {
		require.NoError(t, s.Enqueue(ctx, w))
		a, ok, err := s.Assign(ctx, "booking", c.Now())
		require.NoError(t, err)
		require.True(t, ok)
		as = append(as, a)
	}
	for _, i := range []int{0, 2, 3} { // a2 stays ringing on the live instance
		_, err := svc.Connected(ctx, as[i])
		require.NoError(t, err)
	}
	for _, i := range []int{2, 3} {
		require.NoError(t, s.Talking(ctx, as[i].CallID, queue.Conversation{CallerChannel: "caller-" + as[i].CallID,
			AgentChannel: "leg-" + as[i].CallID, Bridge: "b", Connected: c.Now()}))
	}
	up := func(leg string) bool { return leg == "leg-c-talking" }

	released, err := s.ReleaseOrphans(ctx, c.Now(), 10*time.Second, up)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{as[0].AgentID, as[3].AgentID}, released)
	for i, want := range []queue.AgentState{queue.WrapUp, queue.Ringing, queue.Busy, queue.WrapUp} {
		ag, err := s.Agent(ctx, as[i].AgentID)
		require.NoError(t, err)
		require.Equal(t, want, ag.State, "agent of %s", calls[i].CallID)
	}
}

// EnqueueAssign queues a caller and pairs the head in one round trip, with
// the same rules as Enqueue then Assign, and survives Redis losing its
// script cache.
func TestEnqueueAssign(t *testing.T) {
	s, rdb, _ := newStore(t)
	ctx := context.Background()
	svc := queue.NewService(s, queue.Options{Clock: func() time.Time { return t0 }, Log: quiet()})
	w := func(id string, prio int, entered time.Time) queue.Waiting {
		return queue.Waiting{CallID: id, Queue: "booking", Priority: prio, Entered: entered, Owner: "i1"}
	}

	// No agent ready: the caller waits, nothing is paired.
	_, ok, err := s.EnqueueAssign(ctx, w("first", 0, t0), t0)
	require.NoError(t, err)
	require.False(t, ok)

	// Bad input is refused and changes nothing.
	_, _, err = s.EnqueueAssign(ctx, w("", 0, t0), t0)
	require.ErrorIs(t, err, queue.ErrInvalid)
	_, _, err = s.EnqueueAssign(ctx, w("bad", 10, t0), t0)
	require.ErrorIs(t, err, queue.ErrInvalid)
	ids, err := s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"first"}, ids)

	// An agent gets ready (without a dispatch): the next caller to enter
	// pairs the head of the queue, the one who entered first, not itself.
	require.NoError(t, svc.Login(ctx, "a1", "PJSIP/a1", []string{"booking"}))
	require.NoError(t, svc.Ready(ctx, "a1"))
	a, ok, err := s.EnqueueAssign(ctx, w("second", 0, t0.Add(time.Minute)), t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, queue.Assignment{CallID: "first", AgentID: "a1", Endpoint: "PJSIP/a1", Owner: "i1"}, a)
	ag, err := s.Agent(ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, queue.Ringing, ag.State)
	ids, err = s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"second"}, ids)

	// Redis forgets its scripts (a restart): the call still goes through,
	// and a caller entering to a ready agent is paired with it at once.
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	require.NoError(t, svc.Login(ctx, "a2", "PJSIP/a2", []string{"booking"}))
	require.NoError(t, svc.Ready(ctx, "a2"))
	a, ok, err = s.EnqueueAssign(ctx, w("urgent", 5, t0.Add(2*time.Minute)), t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "urgent", a.CallID, "a higher priority goes first")
	require.Equal(t, "a2", a.AgentID)
	ids, err = s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"second"}, ids)
}

func mustAgent(t *testing.T, s *queue.Store, id string) queue.Agent {
	t.Helper()
	a, err := s.Agent(context.Background(), id)
	require.NoError(t, err)
	return a
}

// An operator whose Redis client closes under it (the process stopping)
// ends with an error instead of crashing on the closed subscription.
func TestRunEndsWhenRedisCloses(t *testing.T) {
	store, rdb, prefix := newStore(t)
	svc := queue.NewService(store, queue.Options{Clock: time.Now, Log: quiet()})
	op := queue.NewOperator(queue.OperatorConfig{Instance: "i1", Queues: []string{"booking"}}, store, svc, nil, nil, time.Now, prometheus.NewRegistry(), quiet())
	ctx := context.Background()
	require.NoError(t, op.Start(ctx))
	defer op.Stop()
	require.Eventually(t, func() bool {
		n, err := rdb.PubSubNumSub(ctx, prefix+":owner:i1").Result()
		return err == nil && n[prefix+":owner:i1"] == 1
	}, 5*time.Second, 10*time.Millisecond, "the operator subscribed")
	require.NoError(t, rdb.Close())
	select {
	case <-op.Done():
		require.ErrorContains(t, op.Err(), "subscription closed")
	case <-time.After(5 * time.Second):
		t.Fatal("the operator did not end")
	}
}

// The longest wait is the caller waiting longest, whatever its place (an
// urgent caller ranks first though it entered last); a recall's entry is
// no caller on the line.
func TestFirstEntered(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	first, ok, err := s.FirstEntered(ctx, nil)
	require.NoError(t, err)
	require.False(t, ok, "nobody waiting")
	require.Zero(t, first)
	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "early", Queue: "booking", Entered: t0.Add(time.Minute)}))
	require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: "urgent", Queue: "booking", Priority: 5, Entered: t0.Add(3 * time.Minute)}))
	_, err = s.EnterRecall(ctx, queue.RecallEntry{ID: 7, Queue: "booking", Lane: queue.LaneLive, Rank: t0, Phone: "+393470000007",
		Reason: "wait", Requested: t0})
	require.NoError(t, err)
	ids, err := s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"urgent", "recall:7", "early"}, ids)
	first, ok, err = s.FirstEntered(ctx, append(ids, "gone"))
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, t0.Add(time.Minute).Equal(first), "the early caller, not the recall: %s", first)
}

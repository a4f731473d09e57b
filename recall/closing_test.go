package recall_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/queue"
)

// A wait recall still in its queue at the closing is not dialled out of
// hours when an agent comes free for it: it waits for the opening, in its
// place, no try spent, and is dialled then.
func TestWaitRecallNotDialledAfterClosing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 3, 2, 18, 0, 30, 0, rome)) // Monday, just after the closing
	w.start("a", nil)
	ctx := context.Background()
	const n = "3471000081"
	w.citizen(n, "answer:1:5")
	entered := w.clock.Now().Add(-5 * time.Minute) // in the queue since before the closing
	id, err := w.recalls.KeepPlace(ctx, queue.Ticket{Caller: "+39" + n, Queue: "booking"}, entered)
	require.NoError(t, err)
	_, err = w.store.EnterRecall(ctx, queue.RecallEntry{ID: id, Queue: "booking", Lane: queue.LaneLive, Rank: entered,
		Phone: "+39" + n, Reason: "wait", Requested: w.clock.Now()})
	require.NoError(t, err)
	w.agent("ugo", callsim.Agent(0)) // the queue pairs the recall with ugo

	r := w.waitStatus(id, "pending", 10*time.Second)
	require.Zero(t, r.Attempts, "no try spent")
	require.True(t, r.Next.Equal(time.Date(2026, 3, 3, 8, 0, 0, 0, rome)), "due at the opening: %s", r.Next)
	require.Eventually(t, func() bool { return w.state("ugo").State == queue.Ready }, 5*time.Second, 20*time.Millisecond,
		"the agent is given back")
	require.Zero(t, w.calledTimes(n), "nobody is dialled out of hours")

	w.clock.Set(time.Date(2026, 3, 3, 8, 0, 0, 0, rome)) // the opening
	w.waitStatus(id, "connected", 20*time.Second)
	require.Equal(t, 1, w.calledTimes(n))
}

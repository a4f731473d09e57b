package recall_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
)

// callers serves the calls entering an instance as the IVR's operator
// branch does: straight into the queue.
type callers struct {
	w  *world
	in **instance
}

func (h callers) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	if c.Answer(ctx) != nil {
		return
	}
	id, err := h.w.records.Start(ctx, calls.Arrival{ChannelID: c.ID(), Inbound: true, Caller: "+39" + c.Caller(), DID: "800466222",
		InHours: true}, h.w.clock.Now())
	if err != nil {
		h.w.t.Errorf("call record: %v", err)
		return
	}
	_, _ = (*h.in).op.Serve(ctx, c, queue.Ticket{CallID: id, Caller: "+39" + c.Caller(), Queue: "booking"})
}

func (callers) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// A wait recall keeps the caller's place: it is dialled after the caller
// who entered before it and before the one who entered after.
func TestWaitRecallDialledInItsPlace(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	var in *instance
	in = w.start("a", callers{w, &in})
	sim := callsim.New(asteristest.Config(t, asteristest.App("t-rcaller")), prometheus.NewRegistry(), asteristest.Quiet())
	ctx := context.Background()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, sim.Start(sctx))
	t.Cleanup(sim.Stop)
	call := func(number string) *callsim.Call {
		pctx, pcancel := context.WithTimeout(ctx, 15*time.Second)
		defer pcancel()
		c, err := sim.Place(pctx, in.client.Application(), "sim-stasis", number)
		require.NoError(t, err)
		t.Cleanup(func() { c.Hangup(context.Background()) })
		// In the queue once it hears where it stands.
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		_, err = c.WaitMedia(wctx, prompts.Sound("posizione_in_coda"), 0)
		require.NoError(t, err)
		return c
	}
	call("3471000051")
	recalled := call("3471000052")
	w.citizen("3471000052", "answer:1:30")
	// The estimate on entry passes the threshold: the offer; 1 accepts.
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	_, err := recalled.WaitMedia(wctx, prompts.Sound("offerta_richiamata_attesa"), 0)
	require.NoError(t, err)
	require.NoError(t, recalled.Key(ctx, "1"))
	_, err = recalled.WaitMedia(wctx, prompts.Sound("richiamata_accettata"), 0)
	require.NoError(t, err)
	select {
	case <-recalled.Ended():
	case <-time.After(15 * time.Second):
		t.Fatal("the caller who accepted the recall was not hung up on after the goodbye")
	}
	call("3471000053")
	var recallID int64
	require.NoError(t, w.db.QueryRow(ctx, "select id from recall_requests where phone = '+393471000052'").Scan(&recallID))

	waiting, err := w.store.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Len(t, waiting, 3)
	require.Equal(t, queue.RecallCallID(recallID), waiting[1], "the recall waits in the caller's place")

	served := func(agent string) string {
		w.agent(agent, callsim.Agent(time.Second))
		in.op.Dispatch(ctx, "booking")
		var call string
		require.Eventually(t, func() bool {
			a := w.state(agent)
			call = a.CallID
			return a.State == queue.Busy
		}, 20*time.Second, 50*time.Millisecond, "agent %s", agent)
		return call
	}
	require.Equal(t, waiting[0], served("a1"), "the caller who entered first is served first")
	require.Equal(t, queue.RecallCallID(recallID), served("a2"), "then the recall")
	w.waitStatus(recallID, "connected", 20*time.Second)
	require.Equal(t, 1, w.calledTimes("3471000052"))
	require.Equal(t, waiting[2], served("a3"), "then the caller who entered after it")
}

package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
)

// The queue on the real Asterisk with simulated agents: a caller's channel
// is served by Operator.Serve as the IVR's operator branch does.

type served struct {
	h   queue.Handoff
	err error
}

type harness struct {
	t       *testing.T
	store   *queue.Store
	svc     *queue.Service
	ops     []*queue.Operator
	app     string
	sim     *callsim.Simulator
	results chan served
	recalls *recalls
	records *calls.Records
	client  *asterisk.Client
	cfg     queue.OperatorConfig
	rdb     *redis.Client
	prefix  string
	stopA   func()                 // the first instance's dispatcher
	stopB   func()                 // the second's
	regs    []*prometheus.Registry // the instances' metrics
	// closed: the IVR is out of hours, it takes back conversations only.
	closed bool
	mu     sync.Mutex
}

// op is the operator of the instance holding the calls.
func (h *harness) op() *queue.Operator {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ops[0]
}

// restart stops the controller holding the calls, as if killed, and starts
// a new one (with its own operator, same instance name) that re-adopts them.
func (h *harness) restart() { h.restartAs("a", func() {}) }

// restartAs is restart with the new controller's instance name, once
// meanwhile has run.
func (h *harness) restartAs(instance string, meanwhile func()) {
	h.stopA()
	h.client.Stop()
	meanwhile()
	client := asterisk.New(asteristest.Config(h.t, h.app), handler{h}, prometheus.NewRegistry(), asteristest.Quiet())
	c := h.cfg
	c.Instance = instance
	c.Queues = []string{"booking"}
	op := queue.NewOperator(c, queue.NewStore(h.rdb, h.prefix), h.svc, client, h.recalls, time.Now, prometheus.NewRegistry(), quiet())
	h.mu.Lock()
	h.ops[0], h.client = op, client
	h.mu.Unlock()
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	require.NoError(h.t, op.Start(sctx))
	h.t.Cleanup(op.Stop)
	require.NoError(h.t, client.Start(sctx))
	h.t.Cleanup(client.Stop)
}

// recalls stands in for the recall service, which the queue may not
// import (recall imports queue; its own tests store the recall): it
// remembers what it was asked and numbers the recalls.
type recalls struct {
	mu        sync.Mutex
	kept      []queue.Ticket
	enteredAt []time.Time
}

func (r *recalls) KeepPlace(ctx context.Context, t queue.Ticket, entered time.Time) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept = append(r.kept, t)
	r.enteredAt = append(r.enteredAt, entered)
	return int64(len(r.kept)), nil
}

type handler struct{ h *harness }

func (h handler) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	if c.Answer(ctx) != nil {
		return
	}
	id, err := h.h.records.Start(ctx, calls.Arrival{ChannelID: c.ID(), Inbound: true, Caller: "+393471234567", DID: "800466222", InHours: true}, time.Now())
	if err != nil {
		h.h.results <- served{err: err}
		return
	}
	hd, err := h.h.op().Serve(ctx, c, queue.Ticket{CallID: id, Caller: "+393471234567", Queue: "booking"})
	h.h.results <- served{hd, err}
}

// Recover re-adopts a caller found after a restart, as the IVR does; an
// agent's leg goes back to the operator.
func (h handler) Recover(ctx context.Context, c *asterisk.Call) {
	if h.h.op().Resume(ctx, c) {
		return
	}
	defer c.Hangup(context.Background())
	id, err := h.h.records.Start(ctx, calls.Arrival{ChannelID: c.ID(), Inbound: true, DID: "800466222", InHours: true}, time.Now())
	if err != nil {
		h.h.results <- served{err: err}
		return
	}
	h.h.mu.Lock()
	inHours := !h.h.closed
	h.h.mu.Unlock()
	hd, ok, err := h.h.op().Rejoin(ctx, c, id, inHours)
	if !ok {
		h.h.t.Errorf("call %s not re-adopted", id)
	}
	h.h.results <- served{hd, err}
}

func newHarness(t *testing.T, cfg queue.OperatorConfig) *harness {
	t.Helper()
	store, rdb, prefix := newStore(t)
	h := &harness{t: t, store: store, app: asteristest.App("t-queue"), results: make(chan served, 4), cfg: cfg, rdb: rdb, prefix: prefix}
	h.svc = queue.NewService(store, queue.Options{WrapUp: 2 * time.Second, Clock: time.Now, Log: quiet()})
	db := pgtest.NewDB(t)
	h.recalls = &recalls{}
	h.records = calls.NewRecords(db)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := asterisk.New(asteristest.Config(t, h.app), handler{h}, prometheus.NewRegistry(), asteristest.Quiet())
	sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
	defer scancel()
	require.NoError(t, client.Start(sctx))
	t.Cleanup(client.Stop)
	h.client = client
	// Two controller instances share the queue; calls enter the first.
	for _, inst := range []string{"a", "b"} {
		c := cfg
		c.Instance = inst
		c.Queues = []string{"booking"}
		reg := prometheus.NewRegistry()
		op := queue.NewOperator(c, queue.NewStore(rdb, prefix), h.svc, client, h.recalls, time.Now, reg, quiet())
		h.ops = append(h.ops, op)
		h.regs = append(h.regs, reg)
		require.NoError(t, op.Start(sctx))
		t.Cleanup(op.Stop)
		if inst == "a" {
			h.stopA = op.Stop
		} else {
			h.stopB = op.Stop
		}
	}
	h.sim = callsim.New(asteristest.Config(t, asteristest.App("t-qcaller")), prometheus.NewRegistry(), asteristest.Quiet())
	require.NoError(t, h.sim.Start(sctx))
	t.Cleanup(h.sim.Stop)
	time.Sleep(100 * time.Millisecond) // the operators' subscriptions
	return h
}

func (h *harness) agent(id, endpoint string, ready bool) {
	ctx := context.Background()
	require.NoError(h.t, h.svc.Login(ctx, id, endpoint, []string{"booking"}))
	if ready {
		require.NoError(h.t, h.svc.Ready(ctx, id))
	}
}

func (h *harness) call() *callsim.Call {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := h.sim.Place(ctx, h.app, "sim-stasis", "3471234567")
	require.NoError(h.t, err)
	h.t.Cleanup(func() {
		c.Hangup(context.Background())
		select {
		case <-c.Ended():
		case <-time.After(5 * time.Second):
		}
	})
	return c
}

func (h *harness) result() served {
	select {
	case r := <-h.results:
		return r
	case <-time.After(40 * time.Second):
		h.t.Fatal("the queue did not finish serving the call")
		panic("unreachable")
	}
}

func (h *harness) state(id string) queue.Agent {
	a, err := h.store.Agent(context.Background(), id)
	require.NoError(h.t, err)
	return a
}

func heard(t *testing.T, c *callsim.Call, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.WaitMedia(ctx, "sound:"+prompts.Dir+"/"+id, 0)
	require.NoError(t, err)
}

func waitState(t *testing.T, h *harness, id string, want queue.AgentState) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.state(id).State != want {
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s, want %s", id, h.state(id).State, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAgentAnswersAndWrapsUp(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second})
	h.agent("anna", callsim.Agent(time.Second), true)
	c := h.call()
	// An agent is free: straight to her, no announcement.
	waitState(t, h, "anna", queue.Busy)
	require.Equal(t, 0, len(mustWaiting(t, h)))
	h.hangUpAnsweredBy(c, "anna")
}

// hangUpAnsweredBy hangs up a caller who went straight to agent: the call
// was answered by agent, the caller heard no position, and leaving the
// bridge releases the agent into wrap-up.
func (h *harness) hangUpAnsweredBy(c *callsim.Call, agent string) {
	t := h.t
	t.Helper()
	require.NoError(t, c.Hangup(context.Background()))
	r := h.result()
	require.NoError(t, r.err)
	require.Equal(t, calls.OutcomeAgentAnswered, r.h.Outcome)
	require.Equal(t, agent, r.h.Agent)
	require.NotContains(t, c.Heard(), "sound:centralino/posizione_in_coda")
	waitState(t, h, agent, queue.WrapUp)
}

// Either way a caller reaches a free agent: on the lease of the instance
// holding the call, or through Redis (the other instance holds it).
func TestAgentNoAnswerGoesNotReadyAndCallerIsServedNext(t *testing.T) {
	for _, holder := range []string{"a", "b"} {
		t.Run("lease at "+holder, func(t *testing.T) {
			h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second, RingTimeout: 2 * time.Second})
			if holder == "a" {
				h.stopB()
			} else {
				// a, holding the calls, acquires no lease: its
				// dispatcher stops before any agent is free, and it
				// stays alive (its agents are not orphans).
				h.stopA()
				require.NoError(t, h.store.Heartbeat(context.Background(), "a", time.Minute))
			}
			h.agent("bruno", callsim.AgentNoAnswer, true) // idle the longest
			time.Sleep(10 * time.Millisecond)
			h.agent("carla", callsim.Agent(time.Second), true)
			h.waitLease(holder, "bruno")
			c := h.call()
			waitState(t, h, "carla", queue.Busy)
			b := h.state("bruno")
			require.Equal(t, queue.Paused, b.State)
			require.Equal(t, "no_answer", b.Reason)
			want := map[string]float64{"a": 1, "b": 0}[holder]
			require.Equal(t, want, h.leased(0, "confirmed"), "rung on a lease only when a holds it")
			require.NoError(t, c.Hangup(context.Background()))
			r := h.result()
			require.Equal(t, "carla", r.h.Agent)
		})
	}
}

func TestBusyPhoneIsNotRetriedInALoop(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second, RecallAfter: time.Hour})
	h.agent("dario", callsim.AgentBusy, true)
	c := h.call()
	waitState(t, h, "dario", queue.Paused)
	// Busy, or unreachable when the phone refused before its events
	// could be followed: either way paused, not rung again.
	require.Contains(t, []string{"busy", "unreachable"}, h.state("dario").Reason)
	// Paired on entry, the caller heard no position; back in the queue,
	// now it does.
	heard(t, c, "posizione_in_coda")
	// Still waiting, at the head, for the next agent.
	require.Len(t, mustWaiting(t, h), 1)
	require.NoError(t, c.Hangup(context.Background()))
	r := h.result()
	require.Equal(t, calls.OutcomeAbandoned, r.h.Outcome)
	require.Empty(t, mustWaiting(t, h), "an abandoned caller leaves the queue")
}

func TestTwoMinuteOfferAccepted(t *testing.T) {
	// No agent: the estimate on entry passes the (shortened) threshold.
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: time.Minute, RecallAfter: 30 * time.Second})
	c := h.call()
	heard(t, c, "offerta_richiamata_attesa")
	require.NoError(t, c.Key(context.Background(), "1"))
	heard(t, c, "richiamata_accettata")
	r := h.result()
	require.NoError(t, r.err)
	require.Equal(t, calls.OutcomeRecallRequested, r.h.Outcome)
	require.NotZero(t, r.h.RecallID)
	require.Equal(t, []string{queue.RecallCallID(r.h.RecallID)}, mustWaiting(t, h), "the caller left; its recall took its place")
}

func TestTwoMinuteOfferDeclinedKeepsWaitingAndAnotherInstanceDispatches(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: time.Minute, RecallAfter: 30 * time.Second})
	c := h.call()
	heard(t, c, "offerta_richiamata_attesa")
	// Not pressing 1: still in the queue after the offer.
	time.Sleep(6 * time.Second)
	require.Len(t, mustWaiting(t, h), 1)
	// An agent becomes ready; the other instance's dispatcher pairs them
	// and the instance holding the channel rings the agent.
	h.agent("elena", callsim.Agent(time.Second), true)
	h.ops[1].Dispatch(context.Background(), "booking")
	waitState(t, h, "elena", queue.Busy)
	require.NoError(t, c.Hangup(context.Background()))
	require.Equal(t, "elena", h.result().h.Agent)
}

func mustWaiting(t *testing.T, h *harness) []string {
	t.Helper()
	ids, err := h.store.Waiting(context.Background(), "booking")
	require.NoError(t, err)
	return ids
}

func TestRestartMidQueueKeepsOrderAndServes(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second, RecallAfter: time.Hour})
	first := h.call()
	require.Eventually(t, func() bool { return len(mustWaiting(t, h)) == 1 }, 10*time.Second, 50*time.Millisecond)
	second := h.call()
	require.Eventually(t, func() bool { return len(mustWaiting(t, h)) == 2 }, 10*time.Second, 50*time.Millisecond)
	order := mustWaiting(t, h)

	// The controller dies with both callers waiting: they stay in the
	// queue, and the new controller re-adopts them in their order.
	h.restart()
	time.Sleep(2 * time.Second)
	require.Equal(t, order, mustWaiting(t, h))

	h.agent("fabio", callsim.Agent(time.Second), true)
	h.op().Dispatch(context.Background(), "booking")
	waitState(t, h, "fabio", queue.Busy)
	require.Equal(t, order[0], h.state("fabio").CallID, "the first caller is answered first")
	require.Equal(t, order[1:], mustWaiting(t, h))
	require.NoError(t, first.Hangup(context.Background()))
	require.NoError(t, second.Hangup(context.Background()))
}

// A controller that stops mid-conversation leaves it bridged: the next one
// takes it over, even after closing time, and whichever side hangs up, the
// other is released and the agent goes to wrap-up.
func TestConversationOutlivesARestart(t *testing.T) {
	const (
		callerHangsUp = iota
		agentHangsUp
		callerLeftMeanwhile // hung up with no controller there
	)
	tests := []struct {
		name     string
		instance string // the next controller's
		gap      time.Duration
		end      int
	}{
		// The citizen hangs up: the agent's phone is hung up.
		{"caller hangs up", "a", 0, callerHangsUp},
		// The agent hangs up: the citizen's line is hung up.
		{"agent hangs up", "a", 0, agentHangsUp},
		// Another instance takes over, after the stopped one's heartbeat
		// expired: meanwhile the agent, still talking, was not released
		// as an orphan.
		{"another instance", "c", 7 * time.Second, callerHangsUp},
		// The citizen hung up between the controllers: the next one
		// finds the agent alone in the bridge and hangs up.
		{"caller left meanwhile", "a", 0, callerLeftMeanwhile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second})
			h.agent("gina", callsim.Agent(time.Second), true)
			c := h.call()
			waitState(t, h, "gina", queue.Busy)
			info, err := h.store.Call(ctx, h.state("gina").CallID)
			require.NoError(t, err)
			leg := info.Talk.AgentChannel
			require.NotEmpty(t, leg)

			// The controller stops; the next one starts after closing
			// time, when the IVR takes back conversations only.
			h.mu.Lock()
			h.closed = true
			h.mu.Unlock()
			h.restartAs(tt.instance, func() {
				time.Sleep(tt.gap)
				if tt.end == callerLeftMeanwhile {
					require.NoError(t, c.Hangup(ctx))
					<-c.Ended()
				}
			})
			require.ErrorIs(t, h.result().err, context.Canceled, "the stopped controller let the call go")
			if tt.end == callerLeftMeanwhile {
				require.Eventually(t, func() bool { return !asteristest.Has(t, "/channels/"+leg) }, 10*time.Second, 50*time.Millisecond)
				waitState(t, h, "gina", queue.WrapUp)
				return
			}
			time.Sleep(2 * time.Second) // the new controller has taken the calls over
			select {
			case <-c.Ended():
				t.Fatal("the restart hung up on the caller")
			default:
			}
			require.True(t, asteristest.Has(t, "/channels/"+leg), "the restart hung up on the agent")
			require.Equal(t, queue.Busy, h.state("gina").State)

			if tt.end == callerHangsUp {
				require.NoError(t, c.Hangup(ctx))
				require.Eventually(t, func() bool { return !asteristest.Has(t, "/channels/"+leg) }, 10*time.Second, 50*time.Millisecond)
			} else {
				h.mu.Lock()
				client := h.client
				h.mu.Unlock()
				require.NoError(t, client.HangupChannel(ctx, leg))
				select {
				case <-c.Ended():
				case <-time.After(10 * time.Second):
					t.Fatal("the caller was not released")
				}
			}
			waitState(t, h, "gina", queue.WrapUp)
			r := h.result()
			require.NoError(t, r.err)
			require.Equal(t, calls.OutcomeAgentAnswered, r.h.Outcome)
			require.Equal(t, "gina", r.h.Agent)
		})
	}
}

// waitLease waits until instance holds the lease of booking on agent.
func (h *harness) waitLease(instance, agent string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := h.rdb.HMGet(context.Background(), h.prefix+":lease:booking", "holder", "agent").Result()
		require.NoError(h.t, err)
		if l[0] == instance && l[1] == agent {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("lease of booking is %v, want %s on %s", l, instance, agent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the holder reads the reply
}

// leased is instance i's count of leased rings with outcome.
func (h *harness) leased(i int, outcome string) float64 {
	h.t.Helper()
	c, err := h.regs[i].Gather()
	require.NoError(h.t, err)
	for _, f := range c {
		if f.GetName() != "centralino_queue_leased_rings_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A caller arriving to a free agent, at the instance holding the queue's
// lease, rings the longest-idle agent with no round trip to Redis first.
func TestLeasedRingReachesTheLongestIdleAgent(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second})
	h.stopB() // calls enter a: a holds the lease
	h.agent("xena", callsim.Agent(time.Second), true)
	time.Sleep(10 * time.Millisecond)
	h.agent("yuri", callsim.Agent(time.Second), true)
	h.waitLease("a", "xena")
	c := h.call()
	waitState(t, h, "xena", queue.Busy)
	require.Equal(t, 1.0, h.leased(0, "confirmed"))
	require.Equal(t, queue.Ready, h.state("yuri").State)
	h.waitLease("a", "yuri") // the next caller's
	h.hangUpAnsweredBy(c, "xena")
}

// The lease is revoked while its holder has not heard yet (the agent went
// on a break that very moment): the ring on it is withdrawn at once, the
// agent keeps her break, and the caller goes to the next agent.
func TestLeasedRingWithdrawnWhenRevokedInFlight(t *testing.T) {
	h := newHarness(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second, RecallAfter: time.Hour})
	h.stopB()
	h.agent("xena", callsim.AgentNoAnswer, true)
	time.Sleep(10 * time.Millisecond)
	h.agent("yuri", callsim.Agent(time.Second), true)
	h.waitLease("a", "xena")
	// a stops renewing (its dispatcher ends; Serve goes on), and Redis
	// moves xena to a break without a word to a.
	h.stopA()
	ctx := context.Background()
	require.NoError(t, h.rdb.HSet(ctx, h.prefix+":agent:xena", "state", "paused", "reason", "lunch").Err())
	require.NoError(t, h.rdb.ZRem(ctx, h.prefix+":ready:booking", "xena").Err())
	c := h.call()
	// At once: yuri answers after a second, xena's ring would last 15.
	require.Eventually(t, func() bool { return h.state("yuri").State == queue.Busy }, 5*time.Second, 20*time.Millisecond,
		"the caller did not reach yuri at once")
	require.Equal(t, 1.0, h.leased(0, "withdrawn"))
	x := h.state("xena")
	require.Equal(t, queue.Paused, x.State)
	require.Equal(t, "lunch", x.Reason, "not paused as a no-answer")
	for _, ch := range asteristest.Channels(t) {
		require.NotContains(t, ch, "noanswer@sim-agents", "xena's phone still rings")
	}
	require.NoError(t, c.Hangup(context.Background()))
	r := h.result()
	require.Equal(t, "yuri", r.h.Agent)
}

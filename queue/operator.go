package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/recall"
)

// OperatorConfig tunes the waiting experience (SPEC §4).
type OperatorConfig struct {
	// Instance names this controller instance (unique among instances).
	Instance string
	// AnnounceEvery is the period of the position and wait announcements
	// (default 45 s).
	AnnounceEvery time.Duration
	// RecallAfter is the two-minute rule: the recall offer when the
	// estimate on entry exceeds it, or the wait reaches it (default 2 min).
	RecallAfter time.Duration
	// RingTimeout is how long an agent's phone rings (default 15 s).
	RingTimeout time.Duration
	// DefaultHandleTime seeds the wait estimate (default 4 min).
	DefaultHandleTime time.Duration
	// MOHClass is the music on hold between announcements ("default").
	MOHClass string
	// OnEstimate, when set, receives each caller's estimated wait on entry
	// (the benchmark compares it with the actual wait).
	OnEstimate func(t ivr.Ticket, ewt time.Duration)
}

// Operator serves the IVR's operator branch with centralino's own queue:
// the caller waits in Redis with music and announcements, and is bridged to
// the longest-idle ready agent, dialled from here.
type Operator struct {
	cfg     OperatorConfig
	store   *Store
	svc     *Service
	client  *asterisk.Client
	recalls ivr.Recalls
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	inbox  map[string]chan Assignment // waiting calls of this instance
	leases *leases
	m      *metrics
}

type metrics struct {
	waiting *prometheus.GaugeVec
	agents  *prometheus.GaugeVec
	ewt     *prometheus.GaugeVec
	wait    *prometheus.HistogramVec
	calls   *prometheus.CounterVec
	leased  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		waiting: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_waiting_calls", Help: "Callers waiting, by queue."}, []string{"queue"}),
		agents:  f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_agents", Help: "Logged-in agents by state."}, []string{"state"}),
		ewt: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_estimated_wait_seconds",
			Help: "Estimated wait of a caller entering now, by queue."}, []string{"queue"}),
		wait: f.NewHistogramVec(prometheus.HistogramOpts{Name: "centralino_queue_wait_seconds",
			Help:    "Time from first entering the queue to leaving it, by queue and outcome.",
			Buckets: []float64{10, 30, 60, 90, 120, 180, 300, 600}}, []string{"queue", "outcome"}),
		calls: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_calls_total",
			Help: "Callers that left the queue, by queue and outcome (agent_answered, abandoned, recall_requested)."}, []string{"queue", "outcome"}),
		leased: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_leased_rings_total",
			Help: "Agents rung on a lease the moment a caller arrived, by queue and outcome: confirmed, or withdrawn (the lease was revoked in flight and the ring hung up at once)."},
			[]string{"queue", "outcome"}),
	}
}

// observe refreshes the gauges (every dispatcher tick).
func (o *Operator) observe(ctx context.Context, queues []string) {
	for _, q := range queues {
		ids, err := o.store.Waiting(ctx, q)
		if err != nil {
			return
		}
		o.m.waiting.WithLabelValues(q).Set(float64(len(ids)))
		serving, _ := o.store.Serving(ctx, q)
		aht, _ := o.store.HandleTime(ctx, q, o.cfg.DefaultHandleTime)
		o.m.ewt.WithLabelValues(q).Set(EstimateWait(len(ids)+1, serving, aht).Seconds())
	}
	counts, err := o.store.AgentStates(ctx)
	if err != nil {
		return
	}
	for _, st := range []AgentState{Ready, Paused, Ringing, Busy, WrapUp} {
		o.m.agents.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
}

var _ ivr.Operator = (*Operator)(nil)

// NewOperator builds the operator; Run must run for assignments to flow.
func NewOperator(cfg OperatorConfig, store *Store, svc *Service, client *asterisk.Client, recalls ivr.Recalls, clock func() time.Time, reg prometheus.Registerer, log *slog.Logger) *Operator {
	if cfg.AnnounceEvery == 0 {
		cfg.AnnounceEvery = 45 * time.Second
	}
	if cfg.RecallAfter == 0 {
		cfg.RecallAfter = 2 * time.Minute
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 15 * time.Second
	}
	if cfg.DefaultHandleTime == 0 {
		cfg.DefaultHandleTime = 4 * time.Minute
	}
	if cfg.MOHClass == "" {
		cfg.MOHClass = "default"
	}
	if clock == nil {
		clock = time.Now
	}
	return &Operator{cfg: cfg, store: store, svc: svc, client: client, recalls: recalls, now: clock,
		log: log.With("component", "queue", "instance", cfg.Instance), inbox: map[string]chan Assignment{}, leases: newLeases(), m: newMetrics(reg)}
}

// Run receives this instance's assignments and lease revocations,
// re-dispatches every queue once a second (wrap-ups ending, agents made
// ready elsewhere) and acquires or renews the queues' leases, until ctx
// ends.
func (o *Operator) Run(ctx context.Context, queues []string) error {
	if err := o.store.Heartbeat(ctx, o.cfg.Instance, 5*time.Second); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	sub := o.store.Subscribe(ctx, o.cfg.Instance)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("subscribing to assignments: %w", err)
	}
	msgs := sub.Channel()
	o.refreshLeases(ctx, queues)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				// The Redis client was closed.
				if ctx.Err() != nil {
					return nil // stopping
				}
				return errors.New("queue: the assignment subscription closed")
			}
			if rest, ok := strings.CutPrefix(m.Payload, "revoke|"); ok {
				if q, token, ok := strings.Cut(rest, "|"); ok {
					o.leases.revoke(q, token, o.now())
				}
				continue
			}
			p := strings.SplitN(m.Payload, "|", 3)
			if len(p) == 3 {
				o.deliver(ctx, Assignment{CallID: p[0], AgentID: p[1], Endpoint: p[2], Owner: o.cfg.Instance})
			}
		case <-tick.C:
			if err := o.store.Heartbeat(ctx, o.cfg.Instance, 5*time.Second); err != nil {
				o.log.Error("heartbeat", "err", err)
			}
			if ids, err := o.store.ReleaseOrphans(ctx, o.now(), o.svc.wrapUp, o.talking(ctx)); err == nil && len(ids) > 0 {
				o.log.Warn("agents released from a dead instance's calls", "agents", ids)
			}
			for _, q := range queues {
				o.Dispatch(ctx, q)
			}
			o.refreshLeases(ctx, queues)
			o.observe(ctx, queues)
		}
	}
}

// Dispatch pairs waiting callers with ready agents in queue, and hands each
// pair to the instance holding the caller.
func (o *Operator) Dispatch(ctx context.Context, queue string) {
	for {
		a, ok, err := o.store.Assign(ctx, queue, o.now())
		if err != nil {
			o.log.Error("assigning", "queue", queue, "err", err)
			return
		}
		if !ok {
			return
		}
		o.route(ctx, a)
	}
}

// route hands a pair to the instance holding the caller: this one's own
// waiters directly, another's through Redis.
func (o *Operator) route(ctx context.Context, a Assignment) {
	if a.Owner == o.cfg.Instance {
		o.deliver(ctx, a)
		return
	}
	if err := o.store.Publish(ctx, a); err != nil {
		o.log.Error("handing assignment to its instance", "owner", a.Owner, "err", err)
	}
}

func (o *Operator) deliver(ctx context.Context, a Assignment) {
	o.mu.Lock()
	ch := o.inbox[a.CallID]
	o.mu.Unlock()
	if ch != nil {
		select {
		case ch <- a:
			return
		default:
		}
	}
	// The caller left meanwhile: the agent is free again.
	if err := o.svc.Release(ctx, a); err != nil {
		o.log.Error("releasing agent", "agent_id", a.AgentID, "err", err)
	}
}

var _ ivr.Rejoiner = (*Operator)(nil)

// Rejoin takes back a caller found after a controller restart that was
// waiting in the queue: it keeps its place and its first-entry time. A
// caller that was ringing an agent goes back to waiting and the agent is
// freed; a caller talking to an agent goes on talking (resume). With
// queue false only a conversation is taken back. ok=false when the call
// was not taken back.
func (o *Operator) Rejoin(ctx context.Context, call ivr.Call, callID uuid.UUID, queue bool) (ivr.Handoff, bool, error) {
	info, err := o.store.Call(ctx, callID.String())
	if err != nil {
		return ivr.Handoff{}, false, nil
	}
	if info.State == "connected" {
		ac, ok := call.(ariCall)
		if !ok || info.Talk.CallerChannel != ac.ARI().ID() {
			return ivr.Handoff{}, false, nil // no conversation of this channel
		}
		h, err := o.resume(ctx, ac.ARI(), info)
		return h, true, err
	}
	if !queue {
		return ivr.Handoff{}, false, nil
	}
	if info.State == "ringing" {
		if err := o.store.Requeue(ctx, info.CallID); err != nil {
			return ivr.Handoff{}, false, err
		}
		if info.Agent != "" {
			_ = o.svc.Release(ctx, Assignment{CallID: info.CallID, AgentID: info.Agent})
		}
	}
	o.log.Info("caller re-adopted in the queue", "call_id", info.CallID, "queue", info.Queue)
	h, err := o.Serve(ctx, call, ivr.Ticket{CallID: callID, Caller: info.Caller, Queue: info.Queue, Keyed: info.Keyed,
		Reason: reasonRecovered, EnteredIVR: info.Entered})
	return h, true, err
}

// reasonRecovered marks the ticket of a caller re-adopted after a
// restart (Rejoin): it keeps its old place in the queue.
const reasonRecovered = "recovered"

// ariCall is how the IVR's call exposes its channel.
type ariCall interface{ ARI() *asterisk.Call }

// Serve queues the caller until an agent answers, the caller accepts a
// recall, or hangs up.
func (o *Operator) Serve(ctx context.Context, call ivr.Call, t ivr.Ticket) (ivr.Handoff, error) {
	ac, ok := call.(ariCall)
	if !ok {
		return ivr.Handoff{}, errors.New("queue: the call has no channel")
	}
	c := ac.ARI()
	id := t.CallID.String()
	entered := o.now()
	log := o.log.With("call_id", id, "queue", t.Queue)
	inbox := make(chan Assignment, 1)
	o.mu.Lock()
	o.inbox[id] = inbox
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.inbox, id)
		o.mu.Unlock()
	}()
	// Urgent prescriptions the IVR cannot book go first.
	priority := 0
	if t.Reason == "urgent" {
		priority = 5
	}
	w := &waiter{o: o, c: c, t: t, id: id, entered: entered, log: log, inbox: inbox, dialed: make(chan dialed, 1),
		placed: make(chan struct{}, 1)}
	in := Waiting{CallID: id, Queue: t.Queue, Priority: priority, Entered: entered, Caller: t.Caller, Owner: o.cfg.Instance, Keyed: t.Keyed}
	if !w.ringLeased(ctx, in) {
		// Enqueued and paired in one round trip: a caller arriving to a
		// free agent rings it at once.
		a, paired, err := o.store.EnqueueAssign(ctx, in, entered)
		if err != nil {
			return ivr.Handoff{}, err
		}
		if paired {
			o.route(ctx, a)
			if a.CallID != id {
				// Callers were waiting with an agent free (a wrap-up
				// just ended): pair the rest now rather than at the next
				// tick.
				o.Dispatch(ctx, t.Queue)
			}
		}
	}
	h, err := w.wait(ctx)
	if c.Detached() {
		// This controller is stopping, the caller is not: it keeps its
		// place for the next controller to re-adopt (Rejoin).
		return ivr.Handoff{}, ctx.Err()
	}
	waited := h.Waited
	if h.Outcome != ivr.OutcomeAgentAnswered {
		// Abandoned, recall accepted or failed: out of the queue.
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		waited = o.now().Sub(entered)
		if _, lerr := o.store.Leave(lctx, id, o.now()); lerr == nil && h.Outcome == ivr.OutcomeAbandoned {
			log.Info("caller abandoned", "waited", waited.Round(time.Second))
		}
		h.Waited = waited
	}
	if h.Outcome != "" {
		o.m.wait.WithLabelValues(t.Queue, string(h.Outcome)).Observe(waited.Seconds())
		o.m.calls.WithLabelValues(t.Queue, string(h.Outcome)).Inc()
	}
	return h, err
}

type dialed struct {
	a       Assignment
	started time.Time // ringing since
	leg     *asterisk.Call
	res     asterisk.DialResult
	err     error
}

// waiter is one caller's wait, owned by the call's goroutine.
type waiter struct {
	o       *Operator
	c       *asterisk.Call
	t       ivr.Ticket
	id      string
	entered time.Time
	log     *slog.Logger
	inbox   chan Assignment
	dialed  chan dialed
	// ringing is the agent being dialled, if any; stopRing ends its dial.
	ringing  *Assignment
	stopRing context.CancelFunc
	// placed: the agent's phone was dialled (the caller's music may start).
	placed  chan struct{}
	offered bool
	// estimated: the entry estimate was reported.
	estimated bool
}

func prompt(id string) string { return "sound:" + ivr.PromptDir + "/" + id }

// announcement is position and estimated wait, and the recall offer when
// the estimate or the wait passes the threshold (once).
func (w *waiter) announcement(ctx context.Context) ([]string, bool) {
	o := w.o
	pos, _ := o.store.Position(ctx, w.t.Queue, w.id)
	serving, _ := o.store.Serving(ctx, w.t.Queue)
	aht, _ := o.store.HandleTime(ctx, w.t.Queue, o.cfg.DefaultHandleTime)
	aht += o.svc.wrapUp // an agent is free again after the wrap-up
	if pos == 0 {
		w.reportEstimate(0)
		return nil, false // already on the way to an agent
	}
	ewt := EstimateWait(pos, serving, aht)
	w.reportEstimate(ewt)
	var m []string
	if pos > 0 {
		m = append(m, prompt("posizione_in_coda"), fmt.Sprintf("number:%d", pos))
	}
	if ewt < time.Minute {
		m = append(m, prompt("meno_di_un_minuto"))
	} else {
		m = append(m, prompt("attesa_stimata"), fmt.Sprintf("number:%d", int(ewt.Round(time.Minute).Minutes())), prompt("minuti"))
	}
	offer := !w.offered && (ewt > o.cfg.RecallAfter || o.now().Sub(w.entered) >= o.cfg.RecallAfter) && w.t.Caller != ""
	if offer {
		w.offered = true
		m = append(m, prompt("offerta_richiamata_attesa"))
	}
	return m, offer
}

// reportEstimate hands the caller's estimate on entry to OnEstimate, once.
func (w *waiter) reportEstimate(ewt time.Duration) {
	if !w.estimated && w.o.cfg.OnEstimate != nil {
		w.estimated = true
		w.o.cfg.OnEstimate(w.t, ewt)
	}
}

// EstimateWait is the expected wait of the caller at position pos: the
// callers ahead, and this one, are served by the serving agents in turn,
// each call taking the agent for the mean handle time (ringing, talking,
// wrap-up). With nobody serving, the mean
// handle time per position is the estimate (agents log in during the day).
func EstimateWait(pos, serving int, aht time.Duration) time.Duration {
	if pos <= 0 {
		return 0
	}
	if serving <= 0 {
		serving = 1
	}
	return time.Duration(float64(aht) * float64(pos) / float64(serving))
}

type announced struct {
	key string
	err error
}

func (w *waiter) wait(ctx context.Context) (ivr.Handoff, error) {
	o := w.o
	var (
		actx    context.Context
		acancel context.CancelFunc = func() {}
		adone   chan announced
		next    = time.NewTimer(0) // announce on entry
		offerAt = time.NewTimer(o.cfg.RecallAfter)
	)
	defer next.Stop()
	defer offerAt.Stop()
	defer func() { acancel() }()
	moh := false
	startMOH := func() {
		if !moh && w.c.StartMOH(ctx, o.cfg.MOHClass) == nil {
			moh = true
		}
	}
	stopMOH := func() {
		if moh {
			_ = w.c.StopMOH(ctx)
			moh = false
		}
	}
	announce := func() {
		if adone != nil {
			return
		}
		media, offer := w.announcement(ctx)
		if len(media) == 0 {
			startMOH()
			return
		}
		stopMOH()
		actx, acancel = context.WithCancel(ctx)
		adone = make(chan announced, 1)
		spec := asterisk.GatherSpec{}
		if offer {
			spec = asterisk.GatherSpec{Max: 1, FirstDigit: 5 * time.Second}
		}
		done := adone
		go func(actx context.Context) {
			k, err := w.c.Gather(actx, media, spec)
			done <- announced{k, err}
		}(actx)
	}
	abandoned := func() (ivr.Handoff, error) {
		if ringing := w.ringing; ringing != nil {
			// The dial ends with the caller's context; the agent is free.
			w.endRing()
			if err := o.svc.Release(context.Background(), *ringing); err != nil {
				w.log.Error("releasing agent", "agent_id", ringing.AgentID, "err", err)
			}
		}
		return ivr.Handoff{Outcome: ivr.OutcomeAbandoned}, nil
	}
	// A caller paired on entry (on a lease, or by Redis) hears no
	// position (there is no queue ahead) and the music starts once the
	// agent's phone is ringing: a request on the caller's channel
	// meanwhile would delay the ring.
	if w.ringing == nil {
		select {
		case a := <-w.inbox:
			w.ring(ctx, a)
		default:
		}
	}
	skipped := false // the entry announcement, for a caller paired on entry
	if w.ringing != nil {
		skipped = true
		next.Reset(o.cfg.AnnounceEvery) // no stale tick since Go 1.23
		w.reportEstimate(0)
	}
	for {
		// An assignment goes before anything else (an announcement's
		// reads): the agent's phone rings first.
		select {
		case a := <-w.inbox:
			w.ring(ctx, a)
		default:
		}
		select {
		case <-ctx.Done():
			return abandoned()
		case <-next.C:
			announce()
			next.Reset(o.cfg.AnnounceEvery)
		case <-offerAt.C:
			if !w.offered {
				announce()
			}
		case r := <-adone:
			adone = nil
			if r.err != nil && ctx.Err() != nil {
				return abandoned()
			}
			if r.key == "1" {
				return w.acceptRecall(ctx)
			}
			startMOH()
		case a := <-w.inbox:
			w.ring(ctx, a)
		case <-w.placed:
			if adone == nil {
				startMOH()
			}
		case d := <-w.dialed:
			w.ringing = nil
			if d.err != nil || d.res != asterisk.Answered {
				reason := "no_answer"
				if d.res == asterisk.Busy {
					reason = "busy"
				} else if d.res == asterisk.Failed || d.err != nil {
					reason = "unreachable"
				}
				w.log.Warn("agent did not answer", "agent_id", d.a.AgentID, "reason", reason, "err", d.err)
				if err := o.svc.NoAnswer(ctx, d.a, reason); err != nil {
					w.log.Error("requeueing after no answer", "err", err)
				}
				o.Dispatch(ctx, w.t.Queue)
				if skipped {
					// Back at the head: the caller now hears the position.
					skipped = false
					next.Reset(0)
				}
				continue
			}
			acancel()
			if adone != nil {
				<-adone
				adone = nil
			}
			stopMOH()
			return w.connect(ctx, d)
		}
	}
}

// ring dials the agent of a and returns once Asterisk has placed the
// call (the request goes from this goroutine: no hand-over to another
// delays it); the caller keeps listening, and the outcome comes on
// w.dialed. The dial ends with the caller's context, or stopRing.
func (w *waiter) ring(ctx context.Context, a Assignment) {
	o := w.o
	w.ringing = &a
	w.stopRing = func() {}
	started := o.now()
	r := asterisk.OriginateRequest{Endpoint: a.Endpoint, CallerID: w.t.Caller, Timeout: o.cfg.RingTimeout, Originator: w.c.ID()}
	leg, err := o.client.Originate(ctx, r)
	if err != nil {
		w.dialed <- dialed{a: a, started: started, res: asterisk.Failed, err: err} // empty: one ring at a time
		return
	}
	select {
	case w.placed <- struct{}{}:
	default:
	}
	rctx, stop := context.WithCancel(ctx)
	w.stopRing = stop
	go func() {
		defer stop()
		leg, res, err := o.client.AwaitAnswer(rctx, leg, r.Timeout)
		w.dialed <- dialed{a, started, leg, res, err}
	}()
}

// endRing stops the ring under way and waits (up to 5 s) for its end;
// an agent who answered meanwhile is hung up.
func (w *waiter) endRing() {
	w.stopRing()
	select {
	case d := <-w.dialed:
		if d.leg != nil {
			d.leg.Hangup(context.Background())
			w.o.client.Release(d.leg)
		}
	case <-time.After(5 * time.Second):
	}
	w.ringing = nil
}

// ringLeased rings the agent of this instance's lease of the queue, if it
// holds one, and then confirms it with Redis (Claim): the agent's phone
// rings with no round trip to Redis first. The claim goes once Asterisk
// has answered the ring's request, not alongside it: both would compete
// for the machine the ring needs, and a withdrawal can only follow that
// answer anyway. A lease revoked in flight withdraws the ring at once. A caller
// re-adopted after a restart keeps its old place instead. It reports
// whether the caller is ringing the leased agent.
func (w *waiter) ringLeased(ctx context.Context, in Waiting) bool {
	o := w.o
	if w.t.Reason == reasonRecovered {
		return false
	}
	le, ok := o.leases.take(ctx, in.Queue, o.now)
	if !ok {
		return false
	}
	a := Assignment{CallID: w.id, AgentID: le.Agent, Endpoint: le.Endpoint, Owner: o.cfg.Instance}
	w.ring(ctx, a)
	claimed, next, hasNext, err := o.store.Claim(ctx, in, le, o.now(), leaseTTL)
	o.leases.claimed(in.Queue, next, hasNext)
	if err == nil && claimed {
		o.m.leased.WithLabelValues(in.Queue, "confirmed").Inc()
		return true
	}
	o.m.leased.WithLabelValues(in.Queue, "withdrawn").Inc()
	w.log.Warn("lease revoked in flight: ring withdrawn", "agent_id", a.AgentID, "err", err)
	w.endRing()
	select {
	case <-w.placed:
	default:
	}
	if err != nil {
		// The claim may have landed with its reply lost: give the agent
		// back (only if it is ringing for this caller).
		if rerr := o.svc.Release(context.Background(), a); rerr != nil && !errors.Is(rerr, ErrTransition) {
			w.log.Error("releasing agent", "agent_id", a.AgentID, "err", rerr)
		}
	}
	return false
}

// acceptRecall: the caller keeps the place through a durable recall and
// the call ends with a confirmation.
func (w *waiter) acceptRecall(ctx context.Context) (ivr.Handoff, error) {
	acc, err := w.o.recalls.Request(ctx, recall.Request{Phone: w.t.Caller, Reason: recall.ReasonWait, CallID: w.t.CallID,
		Queue: w.t.Queue, QueueEnteredAt: w.entered})
	if err != nil {
		return ivr.Handoff{}, fmt.Errorf("storing recall: %w", err)
	}
	w.log.Info("recall accepted in queue", "recall_id", acc.ID)
	_, _ = w.c.Play(ctx, prompt("richiamata_accettata"), prompt("arrivederci"))
	return ivr.Handoff{Outcome: ivr.OutcomeRecallRequested, RecallID: acc.ID}, nil
}

// connect bridges caller and agent until either hangs up, then releases
// the other and puts the agent in wrap-up.
func (w *waiter) connect(ctx context.Context, d dialed) (ivr.Handoff, error) {
	o := w.o
	bctx := context.Background()
	defer o.client.Release(d.leg)
	b, err := o.client.Bridge(ctx, w.c, d.leg)
	if err != nil {
		d.leg.Hangup(bctx)
		_ = o.svc.NoAnswer(bctx, d.a, "bridge_failed")
		return ivr.Handoff{}, fmt.Errorf("bridging caller and agent: %w", err)
	}
	connected := o.now()
	// What the next controller needs should this one stop mid-conversation,
	// recorded before the agent is busy: a busy agent's leg is always on
	// record, for whoever asks whether it is still up (ReleaseOrphans).
	if err := o.store.Talking(bctx, w.id, Conversation{CallerChannel: w.c.ID(), AgentChannel: d.leg.ID(), Bridge: b.ID(),
		Connected: connected}); err != nil {
		w.log.Error("recording conversation", "err", err)
	}
	waited, err := o.svc.Connected(bctx, d.a)
	if err != nil {
		w.log.Error("recording connection", "err", err)
	}
	w.log.Info("connected to agent", "agent_id", d.a.AgentID, "waited", waited.Round(time.Second))
	select {
	case <-ctx.Done():
	case <-d.leg.Context().Done():
	}
	if w.c.Detached() || d.leg.Detached() {
		// This controller is stopping, the conversation is not: it stays
		// bridged for the next controller to take over (resume, Resume).
		<-ctx.Done()
		return ivr.Handoff{}, ctx.Err()
	}
	if ctx.Err() != nil {
		d.leg.Hangup(bctx)
	} // else the agent hung up; the flow's finish hangs the caller up
	b.Destroy(bctx)
	o.talkEnded(w.log, w.id, d.a.AgentID, d.leg.ID())
	// Handle time is how long the agent was taken: ringing and talking.
	_ = o.store.ObserveHandleTime(bctx, w.t.Queue, o.now().Sub(d.started), o.cfg.DefaultHandleTime)
	return ivr.Handoff{Outcome: ivr.OutcomeAgentAnswered, Agent: d.a.AgentID, Waited: waited}, nil
}

// talking reports whether a conversation's agent leg is still up in
// Asterisk; when Asterisk cannot tell, it is taken as up (an agent is not
// freed for another call on a guess).
func (o *Operator) talking(ctx context.Context) func(leg string) bool {
	return func(leg string) bool {
		up, err := o.client.ChannelUp(ctx, leg)
		return up || err != nil
	}
}

// talkEnded puts the agent of a conversation that ended in wrap-up (once:
// after a restart both sides report the end).
func (o *Operator) talkEnded(log *slog.Logger, callID, agentID, leg string) {
	bctx := context.Background()
	if err := o.svc.CallEnded(bctx, agentID, callID); err != nil && !errors.Is(err, ErrTransition) {
		log.Error("agent wrap-up", "err", err)
	}
	if err := o.store.TalkEnded(bctx, callID, leg); err != nil {
		log.Error("forgetting the agent's leg", "err", err)
	}
}

// resume takes over, after a controller restart, a caller the last
// controller left talking to an agent: the conversation goes on in its
// bridge (Resume takes the agent's leg).
func (o *Operator) resume(ctx context.Context, c *asterisk.Call, info CallInfo) (ivr.Handoff, error) {
	if err := o.store.Own(ctx, info.CallID, o.cfg.Instance); err != nil {
		o.log.Error("owning the conversation", "call_id", info.CallID, "err", err)
	}
	if !o.talkOn(ctx, c, info, info.Talk.AgentChannel) {
		return ivr.Handoff{}, ctx.Err()
	}
	if err := o.client.DestroyBridge(context.Background(), info.Talk.Bridge); err != nil {
		o.log.Error("destroying the conversation's bridge", "call_id", info.CallID, "err", err)
	}
	return ivr.Handoff{Outcome: ivr.OutcomeAgentAnswered, Agent: info.Agent, Waited: info.Talk.Connected.Sub(info.Entered)}, nil
}

var _ ivr.Resumer = (*Operator)(nil)

// Resume takes over, after a controller restart, an agent's leg the last
// controller left in a conversation (resume takes the caller). ok=false
// when the channel is no agent's leg.
func (o *Operator) Resume(ctx context.Context, leg *asterisk.Call) bool {
	info, err := o.store.Leg(ctx, leg.ID())
	if err != nil || info.State != "connected" {
		return false
	}
	o.talkOn(ctx, leg, info, info.Talk.CallerChannel)
	return true
}

// talkOn holds one side of a conversation taken over after a restart
// until it ends: when this side hangs up, or the other side is found
// gone, the other side is hung up and the agent goes to wrap-up. It
// reports false when this controller stopped meanwhile (the conversation
// goes on for the next one).
func (o *Operator) talkOn(ctx context.Context, side *asterisk.Call, info CallInfo, other string) bool {
	log := o.log.With("call_id", info.CallID, "agent_id", info.Agent)
	log.Info("conversation taken over after a restart", "channel_id", side.ID())
	if up, err := o.client.ChannelUp(ctx, other); err == nil && !up {
		// The other side hung up while no controller was there.
		side.Hangup(context.Background())
	}
	<-ctx.Done()
	if side.Detached() {
		return false
	}
	if err := o.client.HangupChannel(context.Background(), other); err != nil {
		log.Error("hanging up the other side", "err", err)
	}
	o.talkEnded(log, info.CallID, info.Agent, info.Talk.AgentChannel)
	return true
}

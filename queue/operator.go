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
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/startstop"
)

// OperatorConfig tunes the waiting experience (SPEC §4).
type OperatorConfig struct {
	// Instance names this controller instance (unique among instances).
	Instance string
	// Queues are the queues this instance dispatches and leases.
	Queues []string
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
	OnEstimate func(t Ticket, ewt time.Duration)
	// RecallShare is the share of the agents paired that out-of-hours
	// recalls take while callers wait (0: DefaultRecallShare; negative:
	// none).
	RecallShare float64
	// ShortAbandon is the short-abandon threshold of the metrics (0:
	// ShortAbandon).
	ShortAbandon time.Duration
}

// Operator serves the IVR's operator branch with centralino's own queue:
// the caller waits in Redis with music and announcements, and is bridged to
// the longest-idle ready agent, dialled from here.
type Operator struct {
	cfg     OperatorConfig
	store   *Store
	svc     *Service
	phones  Phones
	recalls Recalls
	now     clock.Clock
	log     *slog.Logger
	loop    startstop.Loop

	mu            sync.Mutex
	inbox         map[string]chan Assignment // waiting calls of this instance
	recallDialler RecallDialler
	leases        *leases
	m             *metrics
}

// NewOperator builds the operator; Start runs its dispatcher.
func NewOperator(cfg OperatorConfig, store *Store, svc *Service, phones Phones, recalls Recalls, now clock.Clock, reg prometheus.Registerer, log *slog.Logger) *Operator {
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
	if cfg.ShortAbandon == 0 {
		cfg.ShortAbandon = ShortAbandon
	}
	switch {
	case cfg.RecallShare == 0:
		cfg.RecallShare = DefaultRecallShare
	case cfg.RecallShare < 0:
		cfg.RecallShare = 0
	}
	return &Operator{cfg: cfg, store: store.pairing(cfg.Instance, cfg.RecallShare), svc: svc, phones: phones, recalls: recalls, now: clock.Must(now, "queue operator"),
		log: log.With("component", "queue", "instance", cfg.Instance), inbox: map[string]chan Assignment{}, leases: newLeases(), m: newMetrics(reg, cfg.Queues, cfg.ShortAbandon)}
}

// heartbeatTTL is how long an instance counts as alive after its last
// heartbeat (every dispatcher tick): its agents are not orphans.
const heartbeatTTL = 5 * time.Second

// Start announces this instance, subscribes to its assignments and lease
// revocations, and runs the dispatcher until Stop: it re-dispatches every
// queue once a second (wrap-ups ending, agents made ready elsewhere),
// acquires or renews the queues' leases and frees the agents of dead
// instances.
func (o *Operator) Start(ctx context.Context) error {
	if err := o.store.Heartbeat(ctx, o.cfg.Instance, heartbeatTTL); err != nil {
		return fmt.Errorf("queue: heartbeat: %w", err)
	}
	sub := o.store.Subscribe(ctx, o.cfg.Instance)
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return fmt.Errorf("queue: subscribing to assignments: %w", err)
	}
	if _, err := o.loop.Begin(ctx); err != nil {
		sub.Close()
		return fmt.Errorf("queue: %w", err)
	}
	o.loop.Go(func(ctx context.Context) error {
		defer sub.Close()
		err := o.run(ctx, sub.Channel())
		if err != nil {
			o.log.Error("queue dispatcher stopped", "err", err)
		}
		return err
	})
	return nil
}

// Stop ends the dispatcher and waits for it. Callers this instance holds
// are served by their own goroutines (the asterisk client's), which end
// with their channels.
func (o *Operator) Stop() { o.loop.Stop() }

// Done is closed when the dispatcher has ended (Stop, or its Redis client
// closed under it: Err says so).
func (o *Operator) Done() <-chan struct{} { return o.loop.Done() }

// Err is why the dispatcher ended on its own, if it did.
func (o *Operator) Err() error { return o.loop.Err() }

// run is the dispatcher: msgs is what this instance hears on its channel
// (assignments of its callers, revocations of its leases).
func (o *Operator) run(ctx context.Context, msgs <-chan *redis.Message) error {
	o.refreshLeases(ctx, o.cfg.Queues)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				// The Redis client was closed under the dispatcher.
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("queue: the assignment subscription closed")
			}
			o.heard(ctx, m.Payload)
		case <-tick.C:
			o.tick(ctx)
		}
	}
}

// heard handles one message on this instance's channel.
func (o *Operator) heard(ctx context.Context, payload string) {
	if rest, ok := strings.CutPrefix(payload, "revoke|"); ok {
		if q, token, ok := strings.Cut(rest, "|"); ok {
			o.leases.revoke(q, token, o.now())
		}
		return
	}
	if p := strings.SplitN(payload, "|", 3); len(p) == 3 {
		o.deliver(ctx, Assignment{CallID: p[0], AgentID: p[1], Endpoint: p[2], Owner: o.cfg.Instance})
	}
}

// tick is the dispatcher's second: heartbeat, orphans, desks no longer
// registered, pairing, leases, gauges.
func (o *Operator) tick(ctx context.Context) {
	if err := o.store.Heartbeat(ctx, o.cfg.Instance, heartbeatTTL); err != nil {
		o.log.Error("heartbeat", "err", err)
	}
	if ids, err := o.store.ReleaseOrphans(ctx, o.now(), o.svc.wrapUp, o.talking(ctx)); err == nil && len(ids) > 0 {
		o.log.Warn("agents released from a dead instance's calls", "agents", ids)
	}
	if ids, err := o.svc.PauseUnregistered(ctx); err != nil {
		o.log.Error("checking the agents' phones", "err", err)
	} else if len(ids) > 0 {
		o.log.Warn("agents paused: their phone is not registered", "agents", ids)
	}
	for _, q := range o.cfg.Queues {
		o.Dispatch(ctx, q)
	}
	o.refreshLeases(ctx, o.cfg.Queues)
	o.observe(ctx, o.cfg.Queues)
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
		o.route(ctx, queue, a)
	}
}

// route hands a pair to the instance holding the caller: this one's own
// waiters directly, another's through Redis.
func (o *Operator) route(ctx context.Context, queue string, a Assignment) {
	if a.RecallID != 0 {
		o.dialRecall(ctx, queue, a) // paired here: dialled from here
		return
	}
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

// Rejoin takes back a caller found after a controller restart that was
// waiting in the queue: it keeps its place and its first-entry time. A
// caller that was ringing an agent goes back to waiting and the agent is
// freed; a caller talking to an agent goes on talking (resume). With
// queue false only a conversation is taken back. ok=false when the call
// was not taken back.
func (o *Operator) Rejoin(ctx context.Context, call Call, callID uuid.UUID, queue bool) (Handoff, bool, error) {
	info, err := o.store.Call(ctx, callID.String())
	if err != nil {
		return Handoff{}, false, nil
	}
	if info.State == StateConnected {
		if info.Talk.CallerChannel != call.ID() {
			return Handoff{}, false, nil // no conversation of this channel
		}
		h, err := o.resume(ctx, call, info)
		return h, true, err
	}
	if !queue {
		return Handoff{}, false, nil
	}
	if info.State == StateRinging {
		if err := o.store.Requeue(ctx, info.CallID); err != nil {
			return Handoff{}, false, err
		}
		if info.Agent != "" {
			_ = o.svc.Release(ctx, Assignment{CallID: info.CallID, AgentID: info.Agent})
		}
	}
	o.log.Info("caller re-adopted in the queue", "call_id", info.CallID, "queue", info.Queue)
	h, err := o.Serve(ctx, call, Ticket{CallID: callID, Caller: info.Caller, Queue: info.Queue, Keyed: info.Keyed,
		Reason: reasonRecovered, EnteredIVR: info.Entered})
	return h, true, err
}

// Serve queues the caller until an agent answers, the caller accepts a
// recall, or hangs up.
func (o *Operator) Serve(ctx context.Context, call Call, t Ticket) (Handoff, error) {
	id := t.CallID.String()
	entered := o.now()
	inbox := make(chan Assignment, 1)
	o.mu.Lock()
	o.inbox[id] = inbox
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.inbox, id)
		o.mu.Unlock()
	}()
	if t.Reason != reasonRecovered {
		// A caller re-adopted after a restart was queued once already.
		o.m.queued.WithLabelValues(t.Queue).Inc()
	}
	w := newWaiter(o, call, t, entered, inbox)
	in := Waiting{CallID: id, Queue: t.Queue, Priority: t.priority(), Entered: entered, Caller: t.Caller, Owner: o.cfg.Instance, Keyed: t.Keyed,
		Handoff: t.Reason}
	if !w.ringLeased(ctx, in) {
		// Enqueued and paired in one round trip: a caller arriving to a
		// free agent rings it at once.
		a, paired, err := o.store.EnqueueAssign(ctx, in, entered)
		if err != nil {
			o.m.left(t.Queue, calls.OutcomeFailed, 0)
			return Handoff{}, err
		}
		if paired {
			o.route(ctx, t.Queue, a)
			if a.CallID != id {
				// Callers were waiting with an agent free (a wrap-up
				// just ended): pair the rest now rather than at the next
				// tick.
				o.Dispatch(ctx, t.Queue)
			}
		}
	}
	h, err := w.run(ctx)
	if call.Detached() {
		// This controller is stopping, the caller is not: it keeps its
		// place for the next controller to re-adopt (Rejoin).
		return Handoff{}, ctx.Err()
	}
	waited := h.Waited
	if h.Outcome != calls.OutcomeAgentAnswered {
		// Abandoned, recall accepted or failed: out of the queue.
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		waited = o.now().Sub(entered)
		if _, lerr := o.store.Leave(lctx, id, o.now()); lerr == nil && h.Outcome == calls.OutcomeAbandoned {
			w.log.Info("caller abandoned", "waited", waited.Round(time.Second))
		}
		h.Waited = waited
	}
	switch {
	case h.Outcome == calls.OutcomeAgentAnswered:
		// Counted when the agent answered (talk), not at the hang-up.
	case h.Outcome != "":
		o.m.left(t.Queue, h.Outcome, waited)
	case err != nil:
		// Neither answered nor left by choice: a technical failure
		// while queued, which the service level counts against us.
		o.m.left(t.Queue, calls.OutcomeFailed, waited)
	}
	return h, err
}

// EstimateWait is the expected wait of the caller at position pos: the
// callers ahead, and this one, are served by the serving agents in turn,
// each call taking the agent for the mean handle time (ringing, talking,
// wrap-up). With nobody serving, the mean handle time per position is the
// estimate (agents log in during the day).
func EstimateWait(pos, serving int, aht time.Duration) time.Duration {
	if pos <= 0 {
		return 0
	}
	if serving <= 0 {
		serving = 1
	}
	return time.Duration(float64(aht) * float64(pos) / float64(serving))
}

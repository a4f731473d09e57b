package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/prompts"
)

// callerState is where a waiting caller is in its life in the queue, on
// this instance (Redis keeps the shared part: CallState). The moves
// allowed are callerMoves; anything else is a bug the waiter reports.
type callerState int

const (
	// callerWaiting: in the queue, hearing music or an announcement.
	callerWaiting callerState = iota
	// callerRinging: an agent's phone rings for the caller.
	callerRinging
	// callerTalking: bridged to the agent; the wait is over.
	callerTalking
	// callerLeft: hung up, accepted a recall, or failed.
	callerLeft
)

func (s callerState) String() string {
	return [...]string{"waiting", "ringing", "talking", "left"}[s]
}

// callerMoves are the transitions of a caller's life:
//
//	waiting → ringing      an agent is assigned and rung
//	ringing → waiting      the agent did not answer (or the ring was withdrawn)
//	ringing → talking      the agent answered
//	waiting → left         hung up, or accepted the recall
//	ringing → left         hung up while the agent's phone rang
var callerMoves = map[callerState][]callerState{
	callerWaiting: {callerRinging, callerLeft},
	callerRinging: {callerWaiting, callerTalking, callerLeft},
}

// errMove is a transition callerMoves does not allow.
var errMove = errors.New("queue: impossible caller transition")

// dialed is how ringing an agent for the caller ended.
type dialed struct {
	a       Assignment
	started time.Time // ringing since
	leg     *asterisk.Call
	res     asterisk.DialResult
	err     error
}

// announced is the end of an announcement: the key pressed, if any.
type announced struct {
	key string
	err error
}

// waiter is one caller's wait, owned by the call's goroutine: run reads
// one event at a time and hands it to its method (on...).
type waiter struct {
	o       *Operator
	c       Call
	t       Ticket
	id      string
	entered time.Time
	log     *slog.Logger
	state   callerState

	inbox  chan Assignment
	dialed chan dialed
	// ringing is the agent being rung, if any; stopRing ends its ring.
	ringing  *Assignment
	stopRing context.CancelFunc
	// placed: the agent's phone was rung (the caller's music may start).
	placed chan struct{}

	next, offerAt *time.Timer
	// announcing is the announcement playing, if any, and its end.
	announcing context.CancelFunc
	adone      chan announced
	moh        bool
	offered    bool
	// estimated: the entry estimate was reported.
	estimated bool
	// pairedOnEntry: the caller rang an agent on entry and heard no
	// position; should that agent not answer, it hears it at once.
	pairedOnEntry bool
}

func newWaiter(o *Operator, c Call, t Ticket, entered time.Time, inbox chan Assignment) *waiter {
	id := t.CallID.String()
	return &waiter{o: o, c: c, t: t, id: id, entered: entered, log: o.log.With("call_id", id, "queue", t.Queue),
		inbox: inbox, dialed: make(chan dialed, 1), placed: make(chan struct{}, 1), stopRing: func() {}}
}

// to moves the caller to next, if callerMoves allows it.
func (w *waiter) to(next callerState) error {
	for _, s := range callerMoves[w.state] {
		if s == next {
			w.state = next
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", errMove, w.state, next)
}

// run is the caller's wait, until an agent answers, the caller accepts a
// recall or hangs up.
func (w *waiter) run(ctx context.Context) (Handoff, error) {
	o := w.o
	w.next = time.NewTimer(0) // announce on entry
	w.offerAt = time.NewTimer(o.cfg.RecallAfter)
	defer w.next.Stop()
	defer w.offerAt.Stop()
	defer func() {
		if w.announcing != nil {
			w.announcing()
		}
	}()
	// A caller paired on entry (on a lease, or by Redis) hears no
	// position (there is no queue ahead) and the music starts once the
	// agent's phone is ringing: a request on the caller's channel
	// meanwhile would delay the ring.
	if w.state == callerWaiting {
		w.takeAssignment(ctx)
	}
	if w.state == callerRinging {
		w.pairedOnEntry = true
		w.next.Reset(o.cfg.AnnounceEvery) // no stale tick since Go 1.23
		w.reportEstimate(0)
	}
	for {
		// An assignment goes before anything else (an announcement's
		// reads): the agent's phone rings first.
		w.takeAssignment(ctx)
		var (
			h    Handoff
			done bool
			err  error
		)
		select {
		case <-ctx.Done():
			return w.onHangup()
		case <-w.next.C:
			w.onAnnounceDue(ctx)
		case <-w.offerAt.C:
			w.onOfferDue(ctx)
		case r := <-w.adone:
			h, done, err = w.onAnnounced(ctx, r)
		case a := <-w.inbox:
			w.onAssigned(ctx, a)
		case <-w.placed:
			w.onPlaced(ctx)
		case d := <-w.dialed:
			h, done, err = w.onDialed(ctx, d)
		}
		if done || err != nil {
			return h, err
		}
	}
}

// takeAssignment rings the agent of an assignment waiting in the inbox.
func (w *waiter) takeAssignment(ctx context.Context) {
	select {
	case a := <-w.inbox:
		w.onAssigned(ctx, a)
	default:
	}
}

// onAnnounceDue: position and estimated wait, every AnnounceEvery.
func (w *waiter) onAnnounceDue(ctx context.Context) {
	w.announce(ctx)
	w.next.Reset(w.o.cfg.AnnounceEvery)
}

// onOfferDue: the wait reached the threshold; offer the recall unless it
// was offered already.
func (w *waiter) onOfferDue(ctx context.Context) {
	if !w.offered {
		w.announce(ctx)
	}
}

// onAnnounced: the announcement ended; 1 accepts the recall offer.
func (w *waiter) onAnnounced(ctx context.Context, r announced) (Handoff, bool, error) {
	w.adone, w.announcing = nil, nil
	if r.err != nil && ctx.Err() != nil {
		h, err := w.onHangup()
		return h, true, err
	}
	if r.key == "1" && w.state == callerWaiting {
		h, err := w.acceptRecall(ctx)
		return h, true, err
	} // an agent's phone rings for the caller meanwhile: it is served now
	w.startMOH(ctx)
	return Handoff{}, false, nil
}

// onAssigned rings the agent paired with the caller. An assignment for
// a caller no longer waiting (a stale one) gives the agent back.
func (w *waiter) onAssigned(ctx context.Context, a Assignment) {
	if w.state != callerWaiting {
		w.log.Warn("assignment for a caller not waiting: agent given back", "agent_id", a.AgentID, "state", w.state)
		if err := w.o.svc.Release(ctx, a); err != nil {
			w.log.Error("releasing agent", "agent_id", a.AgentID, "err", err)
		}
		return
	}
	w.ring(ctx, a)
}

// onPlaced: the agent's phone rings; the caller hears music meanwhile.
func (w *waiter) onPlaced(ctx context.Context) {
	if w.adone == nil {
		w.startMOH(ctx)
	}
}

// onDialed: the agent answered (the caller is bridged), or not (the agent
// is paused and the caller keeps its place).
func (w *waiter) onDialed(ctx context.Context, d dialed) (Handoff, bool, error) {
	o := w.o
	w.ringing = nil
	if d.err != nil || d.res != asterisk.Answered {
		if err := w.to(callerWaiting); err != nil {
			return Handoff{}, true, err
		}
		reason := o.svc.dialReason(ctx, d.a.Endpoint, d.res, d.err)
		w.log.Warn("agent did not answer", "agent_id", d.a.AgentID, "reason", reason, "err", d.err)
		if err := o.svc.NoAnswer(ctx, d.a, reason); err != nil {
			w.log.Error("requeueing after no answer", "err", err)
		}
		o.Dispatch(ctx, w.t.Queue)
		if w.pairedOnEntry {
			// Back at the head: the caller now hears the position.
			w.pairedOnEntry = false
			w.next.Reset(0)
		}
		return Handoff{}, false, nil
	}
	if err := w.to(callerTalking); err != nil {
		return Handoff{}, true, err
	}
	if w.announcing != nil {
		w.announcing()
		<-w.adone
		w.adone, w.announcing = nil, nil
	}
	w.stopMOH(ctx)
	h, err := w.connect(ctx, d)
	return h, true, err
}

// onHangup: the caller hung up; an agent rung for it is free again.
func (w *waiter) onHangup() (Handoff, error) {
	if ringing := w.ringing; ringing != nil {
		// The ring ends with the caller's context; the agent is free.
		w.endRing()
		if err := w.o.svc.Release(context.Background(), *ringing); err != nil {
			w.log.Error("releasing agent", "agent_id", ringing.AgentID, "err", err)
		}
	}
	if err := w.to(callerLeft); err != nil {
		return Handoff{}, err
	}
	return Handoff{Outcome: calls.OutcomeAbandoned}, nil
}

func (w *waiter) startMOH(ctx context.Context) {
	if !w.moh && w.c.StartMOH(ctx, w.o.cfg.MOHClass) == nil {
		w.moh = true
	}
}

func (w *waiter) stopMOH(ctx context.Context) {
	if w.moh {
		_ = w.c.StopMOH(ctx)
		w.moh = false
	}
}

// announce plays position and wait (and the recall offer once), unless
// an announcement is playing; with nothing to say the music goes on.
func (w *waiter) announce(ctx context.Context) {
	if w.adone != nil {
		return
	}
	media, offer := w.announcement(ctx)
	if len(media) == 0 {
		w.startMOH(ctx)
		return
	}
	w.stopMOH(ctx)
	actx, cancel := context.WithCancel(ctx)
	done := make(chan announced, 1)
	w.announcing, w.adone = cancel, done
	spec := asterisk.GatherSpec{}
	if offer {
		spec = asterisk.GatherSpec{Max: 1, FirstDigit: 5 * time.Second}
	}
	go func() {
		k, err := w.c.Gather(actx, media, spec)
		done <- announced{k, err}
	}()
}

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
	m := []string{prompts.Sound("posizione_in_coda"), fmt.Sprintf("number:%d", pos)}
	if ewt < time.Minute {
		m = append(m, prompts.Sound("meno_di_un_minuto"))
	} else {
		m = append(m, prompts.Sound("attesa_stimata"), fmt.Sprintf("number:%d", int(ewt.Round(time.Minute).Minutes())), prompts.Sound("minuti"))
	}
	offer := !w.offered && (ewt > o.cfg.RecallAfter || o.now().Sub(w.entered) >= o.cfg.RecallAfter) && w.t.Caller != ""
	if offer {
		w.offered = true
		m = append(m, prompts.Sound("offerta_richiamata_attesa"))
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

// ring dials the agent of a and returns once Asterisk has placed the
// call (the request goes from this goroutine: no hand-over to another
// delays it); the caller keeps listening, and the outcome comes on
// w.dialed. The ring ends with the caller's context, or stopRing.
func (w *waiter) ring(ctx context.Context, a Assignment) {
	o := w.o
	if err := w.to(callerRinging); err != nil {
		w.log.Error("ringing an agent", "err", err)
		return
	}
	w.ringing = &a
	w.stopRing = func() {}
	started := o.now()
	r := asterisk.OriginateRequest{Endpoint: a.Endpoint, CallerID: w.t.Caller, Timeout: o.cfg.RingTimeout, Originator: w.c.ID()}
	leg, err := o.phones.Originate(ctx, r)
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
		leg, res, err := o.phones.AwaitAnswer(rctx, leg, r.Timeout)
		w.dialed <- dialed{a, started, leg, res, err}
	}()
}

// endRing stops the ring under way and waits (up to 5 s) for its end;
// an agent who answered meanwhile is hung up. The caller is waiting
// again.
func (w *waiter) endRing() {
	w.stopRing()
	select {
	case d := <-w.dialed:
		if d.leg != nil {
			d.leg.Hangup(context.Background())
			w.o.phones.Release(d.leg)
		}
	case <-time.After(5 * time.Second):
	}
	w.ringing = nil
	if err := w.to(callerWaiting); err != nil {
		w.log.Error("ending a ring", "err", err) // a ring ends only from ringing
	}
}

// ringLeased rings the agent of this instance's lease of the queue, if it
// holds one, and then confirms it with Redis (Claim): the agent's phone
// rings with no round trip to Redis first. The claim goes once Asterisk
// has answered the ring's request, not alongside it: both would compete
// for the machine the ring needs, and a withdrawal can only follow that
// answer anyway. A lease revoked in flight withdraws the ring at once. A
// caller re-adopted after a restart keeps its old place instead. It
// reports whether the caller is ringing the leased agent.
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
func (w *waiter) acceptRecall(ctx context.Context) (Handoff, error) {
	o := w.o
	id, err := o.recalls.KeepPlace(ctx, w.t, w.entered)
	if err != nil {
		return Handoff{}, fmt.Errorf("storing recall: %w", err)
	}
	if err := w.to(callerLeft); err != nil {
		return Handoff{}, err
	}
	// The recall takes the caller's place; should Redis fail here, the
	// recall's scheduler puts it back at the same rank (it is durable).
	if ok, err := o.store.ToRecall(ctx, w.t.Queue, w.id, id, o.now()); err != nil || !ok {
		w.log.Warn("the caller's place did not pass to its recall: it enters on its own", "recall_id", id, "err", err)
	}
	w.log.Info("recall accepted in queue", "recall_id", id)
	_, _ = w.c.Gather(ctx, prompts.Sounds("richiamata_accettata", "arrivederci"), asterisk.GatherSpec{})
	return Handoff{Outcome: calls.OutcomeRecallRequested, RecallID: id}, nil
}

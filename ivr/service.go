package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/phone"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// Config tunes the flow.
type Config struct {
	// MenuTimeout is how long a menu waits for a key (SPEC: 6 s).
	MenuTimeout time.Duration
	// InterDigit is how long a code entry waits between keys.
	InterDigit time.Duration
	// MaxTries failed tries send the caller on (SPEC: 3).
	MaxTries int
	// NREPrefix is the regional part of the NRE the caller does not key.
	NREPrefix string
}

// DefaultConfig is SPEC §3's.
func DefaultConfig() Config {
	return Config{MenuTimeout: 6 * time.Second, InterDigit: 4 * time.Second, MaxTries: 3, NREPrefix: "070A4"}
}

// Deps are the parts the flow drives.
type Deps struct {
	Slots    Slots
	Holds    Holds
	Bookings Bookings
	Recalls  Recalls
	Operator Operator
	Records  *calls.Records
	Hours    *hours.Schedule
	Speaker  Speaker
	Clock    clock.Clock
	Log      *slog.Logger
}

// Flow is the numero verde's call flow. One Flow serves every call; each
// call runs in its own goroutine with its own session.
type Flow struct {
	Deps
	cfg Config
}

// NewFlow builds the flow.
func NewFlow(cfg Config, d Deps) *Flow {
	d.Clock = clock.Must(d.Clock, "ivr")
	d.Log = d.Log.With("component", "ivr")
	return &Flow{Deps: d, cfg: cfg}
}

// The queues (skills) the IVR hands callers to: cancellations go to the
// cancellation desk; bookings, and moves (a move books a new slot with
// the citizen), to the booking desk.
const (
	queueBook   = "booking"
	queueCancel = "cancellation"
	queueMove   = queueBook
)

// Inbound is what is known of a call entering the IVR.
type Inbound struct {
	ChannelID string
	// CallerID as presented (may be withheld or national).
	CallerID string
	DID      string
	// Recovered is true for a call found in Stasis after a controller
	// restart: it is greeted again.
	Recovered bool
}

// callState is one call's progress, for its record and its hand-off.
type callState struct {
	id      uuid.UUID
	caller  phone.Number
	valid   bool // caller ID is a valid Italian number
	inHours bool
	keyed   map[string]string
	outcome calls.Outcome
	number  string // booking number to record
	recall  int64
	agent   string
	// queue the caller waited in, and when (queueLeft zero: unknown).
	queue                   string
	queueEntered, queueLeft time.Time
	hold                    *uuid.UUID // slot held right now, released if the call ends
	started                 time.Time
	log                     *slog.Logger
}

// Handle runs a call from answer to hang-up. It returns when the call is
// over; it never leaves a caller in silence without a closing prompt.
func (f *Flow) Handle(ctx context.Context, call Call, in Inbound) {
	st := f.begin(ctx, in, calls.OutcomeHungUp)
	id := st.id
	s := &session{f: f, call: call}

	defer f.finish(call, st)
	if in.Recovered {
		f.step(ctx, st, "recovered", nil)
	}
	if err := call.Answer(ctx); err != nil {
		st.outcome = calls.OutcomeFailed
		return
	}
	if err := f.Records.Answered(ctx, id, f.Clock()); err != nil {
		st.log.Error("recording answer", "err", err)
	}
	if in.Recovered {
		// A caller who was talking to an agent goes on talking, whatever
		// the hour; one who was waiting for an agent goes back to its
		// place in hours.
		if rj, ok := f.Operator.(Rejoiner); ok {
			entered := f.Clock()
			h, taken, err := rj.Rejoin(ctx, call, id, st.inHours)
			if taken {
				st.handedOff(h, "", entered)
				f.conclude(ctx, s, st, err)
				return
			}
		}
	}
	f.conclude(ctx, s, st, f.run(ctx, s, st))
}

// begin reads the clock and the caller ID and starts the call's record (a
// channel that has one, recovered or back from the queue, keeps it).
func (f *Flow) begin(ctx context.Context, in Inbound, outcome calls.Outcome) *callState {
	now := f.Clock()
	st := &callState{inHours: f.Hours.Open(now), keyed: map[string]string{}, started: now, outcome: outcome}
	st.caller, st.valid = phone.ParseItalian(in.CallerID)
	st.log = f.Log.With("channel_id", in.ChannelID, "caller", pii.Phone(st.caller.E164))
	id, err := f.Records.Start(ctx, calls.Arrival{ChannelID: in.ChannelID, Inbound: true, Caller: st.caller.E164, DID: in.DID, InHours: st.inHours}, now)
	if err != nil {
		// The call is still served: a missing record must not hang up on a
		// citizen. The failure is logged for the operator.
		st.log.Error("call record not started", "err", err)
	}
	st.id = id
	st.log = st.log.With("call_id", id)
	return st
}

// conclude handles how the flow returned: a caller's hang-up is recorded by
// finish; any other failure still gets a closing prompt.
func (f *Flow) conclude(ctx context.Context, s *session, st *callState, err error) {
	switch {
	case err == nil:
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		// The caller hung up: finish records it.
	default:
		st.log.Error("call flow failed", "err", err)
		st.outcome = calls.OutcomeFailed
		s.lead = nil
		_ = s.say(ctx, prompts.Sound("errore_tecnico"))
	}
}

// QueueExit serves a call the operator queue gave back (no agent in time,
// or none logged in): the caller is offered a recall that keeps the place.
func (f *Flow) QueueExit(ctx context.Context, call Call, in Inbound, status string) {
	// The channel's record exists from the IVR part: begin finds it.
	st := f.begin(ctx, in, calls.OutcomeAbandoned)
	now := st.started
	s := &session{f: f, call: call}
	defer f.finish(call, st)
	f.step(ctx, st, "queue_exit:"+strings.ToLower(status), nil)
	s.lead = prompts.Sounds("operatori_non_disponibili")
	f.conclude(ctx, s, st, f.offerRecall(ctx, s, st, recallOffer{reason: recall.ReasonWait, outcome: calls.OutcomeRecallRequested, from: now}))
}

// detachable is a call that can outlive this controller (asterisk.Call).
type detachable interface{ Detached() bool }

// finish releases what the call held and closes its record, whatever
// happened: it runs on a fresh context because the call's is cancelled
// when the caller hangs up.
func (f *Flow) finish(call Call, st *callState) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st.hold != nil {
		if err := f.Holds.ReleaseHold(ctx, *st.hold); err != nil {
			st.log.Error("releasing hold", "err", err)
		}
	}
	if d, ok := call.(detachable); ok && d.Detached() {
		// The controller is stopping, not the caller: the call stays in
		// Asterisk and the next controller greets it again.
		st.log.Info("call left for the next controller")
		return
	}
	if err := f.Records.End(ctx, st.id, calls.Ending{Outcome: st.outcome, BookingNumber: st.number, RecallID: st.recall, Agent: st.agent,
		Queue: st.queue, QueueEntered: st.queueEntered, QueueLeft: st.queueLeft}, f.Clock()); err != nil {
		st.log.Error("ending call record", "err", err)
	}
	if st.outcome == calls.OutcomeTransferred {
		// The queue owns the call now.
		st.log.Info("call handed to the queue")
		return
	}
	if served(st.outcome) && st.valid {
		// Served by this call: a recall the citizen was waiting for is
		// closed, nobody calls them back for nothing.
		if _, err := f.Recalls.ServedInbound(ctx, st.caller.E164); err != nil {
			st.log.Error("closing the recalls of a citizen served", "err", err)
		}
	}
	if err := call.Hangup(ctx); err != nil {
		st.log.Debug("hangup", "err", err)
	}
	st.log.Info("call ended", "outcome", st.outcome)
}

// served tells the outcomes that served the citizen: an agent answered, or
// self-service completed.
func served(o calls.Outcome) bool {
	switch o {
	case calls.OutcomeAgentAnswered, calls.OutcomeSelfBooked, calls.OutcomeSelfCancelled, calls.OutcomeSelfMoved:
		return true
	}
	return false
}

func (f *Flow) step(ctx context.Context, st *callState, step string, keyed map[string]string) {
	for k, v := range keyed {
		st.keyed[k] = v
	}
	if err := f.Records.Step(ctx, st.id, step, keyed); err != nil {
		st.log.Error("recording step", "step", step, "err", err)
	}
}

func (f *Flow) run(ctx context.Context, s *session, st *callState) error {
	s.lead = prompts.Sounds("benvenuto")
	if !st.inHours {
		return f.outOfHours(ctx, s, st)
	}
	return f.mainMenu(ctx, s, st)
}

// goodbye plays the closing prompt: every call ends with one.
func (f *Flow) goodbye(ctx context.Context, s *session) error {
	return s.say(ctx, prompts.Sound("arrivederci"))
}

// outOfHours says the service is closed and when it reopens, and offers a
// recall (SPEC §3.2).
func (f *Flow) outOfHours(ctx context.Context, s *session, st *callState) error {
	f.step(ctx, st, "closed", nil)
	next, ok := f.Hours.NextOpening(f.Clock())
	s.lead = append(s.lead, prompts.Sound("servizio_chiuso"))
	if ok {
		s.lead = append(s.lead, prompts.Sound("riapertura"))
		s.lead = append(s.lead, f.Speaker.DateTime(next)...)
	}
	st.outcome = calls.OutcomeClosed
	return f.offerRecall(ctx, s, st, recallOffer{reason: recall.ReasonOutOfHours, outcome: calls.OutcomeOutOfHoursRecall, from: next})
}

// recallOffer is why a recall is offered and from when it may be dialled.
type recallOffer struct {
	reason  recall.Reason
	outcome calls.Outcome
	from    time.Time
}

// offerRecall: 1 = the calling number (only when it is a valid Italian
// number), 2 = key another one.
func (f *Flow) offerRecall(ctx context.Context, s *session, st *callState, offer recallOffer) error {
	question, valid := prompts.Sounds("offerta_richiamata"), "12"
	if !st.valid {
		question, valid = prompts.Sounds("offerta_richiamata_altro_numero"), "2"
	}
	key, err := s.choose(ctx, question, valid)
	if errors.Is(err, errTooManyTries) {
		// Out of hours there is no operator: close politely.
		f.step(ctx, st, "offer:tries", nil)
		return s.say(ctx, prompts.Sounds("troppi_tentativi", "arrivederci")...)
	}
	if err != nil {
		return err
	}
	f.step(ctx, st, "offer:"+key, nil)
	number := st.caller
	if key == "2" {
		n, err := f.keyNumber(ctx, s, st)
		if errors.Is(err, errTooManyTries) {
			return s.say(ctx, prompts.Sounds("troppi_tentativi", "arrivederci")...)
		}
		if err != nil {
			return err
		}
		number = n
	}
	acc, err := f.Recalls.Request(ctx, recall.Request{Phone: number.E164, Reason: offer.reason, CallID: st.id,
		Queue: queueBook, NotBefore: offer.from})
	if err != nil {
		return fmt.Errorf("storing recall: %w", err)
	}
	st.outcome, st.recall = offer.outcome, acc.ID
	confirm := prompts.Sounds("richiamata_presto")
	if acc.NotBefore.After(f.Clock().Add(time.Minute)) {
		confirm = append(prompts.Sounds("richiamata_da"), f.Speaker.DateTime(acc.NotBefore)...)
	}
	confirm = append(confirm, prompts.Sound("arrivederci"))
	return s.say(ctx, confirm...)
}

// keyNumber collects a phone number ending with #, reads it back, and asks
// 1 to confirm or 2 to key it again.
func (f *Flow) keyNumber(ctx context.Context, s *session, st *callState) (phone.Number, error) {
	for range f.cfg.MaxTries {
		var n phone.Number
		_, err := s.ask(ctx, prompts.Sounds("digita_numero_richiamata"),
			asterisk.GatherSpec{Max: 13, FirstDigit: f.cfg.MenuTimeout, InterDigit: f.cfg.InterDigit, Terminator: "#"},
			func(k string) bool {
				var ok bool
				n, ok = phone.ParseItalian(k)
				if !ok {
					s.lead = prompts.Sounds("numero_non_valido")
				}
				return ok
			})
		if err != nil {
			return phone.Number{}, err
		}
		// The number is read back in full before a key is taken, and
		// again with `*`.
		said := append(prompts.Sounds("numero_digitato"), f.Speaker.Digits(n.National)...)
		key, err := s.confirm(ctx, said, prompts.Sounds("conferma_o_ridigita"), "12")
		if err != nil {
			return phone.Number{}, err
		}
		if key == "1" {
			f.step(ctx, st, "recall_number", nil)
			return n, nil
		}
	}
	return phone.Number{}, errTooManyTries
}

// mainMenu: 1 book, 2 cancel, 3 move, 0 operator (SPEC §3.3).
func (f *Flow) mainMenu(ctx context.Context, s *session, st *callState) error {
	// A caller sent back to the menu (a used prescription, a change of
	// mind) may come back a few times, never forever.
	for range f.cfg.MaxTries {
		key, err := s.choose(ctx, prompts.Sounds("menu_principale"), "1230")
		if errors.Is(err, errTooManyTries) {
			f.step(ctx, st, "menu:tries", nil)
			return f.operator(ctx, s, st, queue.ReasonTries, queueBook)
		}
		if err != nil {
			return err
		}
		f.step(ctx, st, "menu:"+key, nil)
		var done bool
		switch key {
		case "1":
			done, err = f.book(ctx, s, st)
		case "2":
			done, err = f.cancel(ctx, s, st)
		case "3":
			done, err = f.move(ctx, s, st)
		case "0":
			return f.operator(ctx, s, st, queue.ReasonAsked, queueBook)
		}
		if err != nil || done {
			return err
		}
	}
	return f.operator(ctx, s, st, queue.ReasonTries, queueBook)
}

// operator hands the caller to the agent queue (in hours) with what they
// keyed; out of hours it offers a recall instead.
func (f *Flow) operator(ctx context.Context, s *session, st *callState, reason queue.Reason, skill string) error {
	if !st.inHours {
		next, _ := f.Hours.NextOpening(f.Clock())
		return f.offerRecall(ctx, s, st, recallOffer{reason: recall.ReasonOutOfHours, outcome: calls.OutcomeOutOfHoursRecall, from: next})
	}
	if err := s.say(ctx, prompts.Sound("trasferimento_operatore")); err != nil {
		return err
	}
	f.step(ctx, st, "operator:"+string(reason), nil)
	entered := f.Clock()
	h, err := f.Operator.Serve(ctx, s.call, queue.Ticket{CallID: st.id, Caller: st.caller.E164, Queue: skill,
		Keyed: st.keyed, Reason: reason, EnteredIVR: st.started})
	// A call that failed in the queue was queued all the same: its record
	// says which queue and for how long (docs/metrics.md counts it).
	st.handedOff(h, skill, entered)
	if err != nil {
		st.outcome = calls.OutcomeFailed // as the queue counts it
		return fmt.Errorf("handing to operator: %w", err)
	}
	return nil
}

// handedOff records how the queue's part of the call ended: outcome,
// recall, who answered, and the wait (entered, and left when the queue
// reports how long the caller waited).
func (st *callState) handedOff(h queue.Handoff, skill string, entered time.Time) {
	if h.Outcome != "" {
		st.outcome = h.Outcome
	}
	st.recall, st.agent = h.RecallID, h.Agent
	st.queue, st.queueEntered = skill, entered
	if h.Waited > 0 {
		st.queueLeft = entered.Add(h.Waited)
	}
}

package recall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/phone"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/startstop"
)

// Agents is the queue's side of a recall (*queue.Operator): the agent
// reserved for it is rung first, then bridged with the citizen, or freed.
type Agents interface {
	RingAgent(ctx context.Context, queue string, a queue.Assignment, callerID string) (*asterisk.Call, error)
	Converse(ctx context.Context, queue string, a queue.Assignment, citizen, leg *asterisk.Call, rang time.Time) (queue.Handoff, error)
	FreeAgent(ctx context.Context, queue string, a queue.Assignment, leg *asterisk.Call)
	GiveBack(ctx context.Context, queue string, a queue.Assignment)
}

// Phones calls the citizen (*asterisk.Client).
type Phones interface {
	Originate(ctx context.Context, r asterisk.OriginateRequest) (*asterisk.Call, error)
	AwaitAnswer(ctx context.Context, leg *asterisk.Call, timeout time.Duration) (*asterisk.Call, asterisk.DialResult, error)
	Release(leg *asterisk.Call)
}

var (
	_ Agents              = (*queue.Operator)(nil)
	_ Phones              = (*asterisk.Client)(nil)
	_ queue.RecallDialler = (*Dialler)(nil)
)

// VarRecall is the channel variable that marks a recall's citizen leg
// (its recall id), for a controller that finds it after a restart.
const VarRecall = "CENTRALINO_RECALL"

// DiallerConfig tunes the dialler.
type DiallerConfig struct {
	// Instance names this controller among those dialling.
	Instance string
	// DialString is how the citizen is reached: {e164} (+39…) and
	// {national} are replaced, e.g. "PJSIP/{e164}@carrier".
	DialString string
	// CallerID is what the citizen sees: the numero verde.
	CallerID string
	// AnswerTimeout is how long the citizen's phone rings (default 30 s).
	AnswerTimeout time.Duration
	// Lease is how long a dial is this instance's before another takes it
	// back, should this one die (default 2 min; a dial takes about a
	// minute at most).
	Lease time.Duration
}

// Dialler dials the recalls this instance pairs with an agent (SPEC §5):
// agent first, then the citizen from the numero verde, then the bridge.
// Each recall is claimed in PostgreSQL before its agent is rung (queued →
// dialling, one instance only), the citizen's leg is on record before it
// is placed, and the citizen answering is recorded before the bridge: a
// recall is never dialled twice at the same time, and a citizen bridged
// is never called again.
type Dialler struct {
	cfg     DiallerConfig
	svc     *Service
	agents  Agents
	phones  Phones
	queue   Queue
	records *calls.Records
	log     *slog.Logger
	loop    startstop.Loop
	sink    func(ctx context.Context, c Claimed) bool // nil: the real dial
}

// Claimed is a recall this instance claimed, its agent reserved: what the
// dial step is given.
type Claimed struct {
	ID    int64
	Queue string
	Agent string
	// Try is the try this dial is (1: the first).
	Try int
}

// WithDialSink puts sink in place of the dial step (the agent rung, the
// citizen called, the bridge), for the benchmark (recall/bench): every
// recall this dialler claims (claim.sql, as in production) is handed to
// sink; when sink returns true the recall is recorded connected
// (connected.sql) and its agent given back at once; false leaves the
// claim held, as an instance that dies mid-dial leaves it, for its lease
// to bring back. Production never sets it.
func (d *Dialler) WithDialSink(sink func(ctx context.Context, c Claimed) bool) *Dialler {
	d.sink = sink
	return d
}

// NewDialler builds the dialler; Start runs it, and the queue's operator
// hands it the recalls it pairs (queue.Operator.ServeRecalls).
func NewDialler(cfg DiallerConfig, svc *Service, agents Agents, phones Phones, q Queue, records *calls.Records, log *slog.Logger) *Dialler {
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = 30 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	// The scheduler sharing svc ends, with these records, the tries it
	// takes back from a dead instance (recover).
	svc.useRecords(records)
	return &Dialler{cfg: cfg, svc: svc, agents: agents, phones: phones, queue: q, records: records,
		log: log.With("component", "recall", "part", "dialler", "instance", cfg.Instance)}
}

// Start lets the dialler take recalls until Stop.
func (d *Dialler) Start(ctx context.Context) error {
	if _, err := d.loop.Begin(ctx); err != nil {
		return fmt.Errorf("recall dialler: %w", err)
	}
	return nil
}

// Stop ends the dials in progress and waits for them: what they leave is
// taken back after their lease (see recover.sql).
func (d *Dialler) Stop() { d.loop.Stop() }

// DialRecall dials recall a.RecallID, agent a reserved for it, in its own
// goroutine. A dialler not started (or stopped) gives the agent back.
func (d *Dialler) DialRecall(ctx context.Context, q string, a queue.Assignment) {
	if !d.loop.Go(func(ctx context.Context) error { d.dial(ctx, q, a); return nil }) {
		// Not running: the agent goes back, the recall stays queued.
		d.log.Warn("recall paired while the dialler is not running", "recall_id", a.RecallID)
		d.agents.GiveBack(context.WithoutCancel(ctx), q, a)
	}
}

// dialling is one recall being dialled.
type dialling struct {
	id       int64
	q        string
	a        queue.Assignment
	phone    string
	reason   string
	priority int
	asked    time.Time
	entered  time.Time
	log      *slog.Logger
}

// dial is one recall, from its claim to its end.
func (d *Dialler) dial(ctx context.Context, q string, a queue.Assignment) {
	r := dialling{id: a.RecallID, q: q, a: a, log: d.log.With("recall_id", a.RecallID, "agent_id", a.AgentID, "queue", q)}
	now := d.svc.now()
	if !d.svc.policy.Hours.Open(now) {
		// Paired out of hours (a wait recall still in its queue at the
		// closing): nobody is dialled; it waits for the opening, keeping
		// its place, no try spent.
		d.park(ctx, r, now)
		return
	}
	var callID *uuid.UUID
	var attempts int
	err := d.svc.db.QueryRow(ctx, queries.Get("claim"), pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "agent": a.AgentID,
		"lease_until": now.Add(d.cfg.Lease), "now": now}).Scan(&r.phone, &r.reason, &r.priority, &r.asked, &r.entered, &attempts, &callID)
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) {
			r.log.Error("claiming recall", "err", err)
		}
		// Closed meanwhile, or claimed elsewhere: nobody is called.
		d.agents.GiveBack(ctx, q, a)
		return
	}
	r.log = r.log.With("phone", pii.Phone(r.phone), "try", attempts+1)
	if d.sink != nil {
		d.sunk(ctx, r, attempts+1)
		return
	}
	rang := d.svc.now()
	leg, err := d.agents.RingAgent(ctx, q, a, fmt.Sprintf("%q <%s>", "Richiamata", d.cfg.CallerID))
	if err != nil || leg == nil {
		// The agent did not answer (paused), or this controller is
		// stopping: the recall keeps its place in its queue.
		if err != nil && ctx.Err() == nil {
			r.log.Error("ringing the recall's agent", "err", err)
		}
		d.exec(context.WithoutCancel(ctx), r, "unclaim", pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "now": d.svc.now()})
		return
	}
	d.callCitizen(ctx, r, leg, rang)
}

// park sends a recall paired out of hours back to wait for the opening
// (park.sql) and gives its agent back.
func (d *Dialler) park(ctx context.Context, r dialling, now time.Time) {
	next, ok := d.svc.policy.Hours.NextOpening(now)
	if !ok {
		next = now.Add(d.svc.policy.RetryAfter) // a schedule that never opens
	}
	tag, err := d.svc.db.Exec(ctx, queries.Get("park"), pgx.NamedArgs{"id": r.id, "next": next, "now": now})
	switch {
	case err != nil:
		r.log.Error("sending the recall back to wait for the opening", "err", err)
	case tag.RowsAffected() == 1:
		r.log.Info("recall paired out of hours: it waits for the opening", "opening", next)
	}
	d.agents.GiveBack(ctx, r.q, r.a)
}

// sunk hands a claimed recall to the benchmark's sink in place of the
// dial (WithDialSink).
func (d *Dialler) sunk(ctx context.Context, r dialling, try int) {
	if !d.sink(ctx, Claimed{ID: r.id, Queue: r.q, Agent: r.a.AgentID, Try: try}) {
		return // the instance "died" mid-dial: the claim is left to its lease
	}
	var asked time.Time
	if err := d.svc.db.QueryRow(ctx, queries.Get("connected"), pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "now": d.svc.now()}).
		Scan(&asked); err != nil {
		r.log.Error("recording the recall connected", "err", err)
	} else {
		d.svc.m.attempts.WithLabelValues("connected").Inc()
		d.svc.m.connected.Inc()
	}
	d.agents.GiveBack(ctx, r.q, r.a)
}

// exec runs one of the dial's updates; a lease lost (another instance
// took the dial back) is logged.
func (d *Dialler) exec(ctx context.Context, r dialling, query string, args pgx.NamedArgs) bool {
	tag, err := d.svc.db.Exec(ctx, queries.Get(query), args)
	if err != nil {
		r.log.Error("recording the recall", "step", query, "err", err)
		return false
	}
	if tag.RowsAffected() == 0 {
		r.log.Warn("recall taken back by another instance", "step", query)
		return false
	}
	return true
}

// callCitizen calls the citizen while the agent hears it ring, and
// bridges them, or frees the agent at once.
func (d *Dialler) callCitizen(ctx context.Context, r dialling, leg *asterisk.Call, rang time.Time) {
	toneCtx, stopTone := context.WithCancel(ctx)
	toneDone := make(chan struct{})
	go func() {
		defer close(toneDone)
		_, _ = leg.Play(toneCtx, "tone:ring;tonezone=it")
	}()
	endTone := func() { stopTone(); <-toneDone }
	now := d.svc.now()
	channel := asterisk.NewChannelID()
	recordID, err := d.records.Start(ctx, calls.Arrival{ChannelID: channel, Caller: r.phone, DID: d.cfg.CallerID,
		InHours: d.svc.policy.Hours.Open(now)}, now)
	if err != nil {
		r.log.Error("recall's call record not started", "err", err)
	}
	if !d.exec(ctx, r, "calling", pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "channel": channel,
		"lease_until": now.Add(d.cfg.Lease), "now": now}) {
		endTone()
		d.agents.FreeAgent(ctx, r.q, r.a, leg)
		d.endRecord(r, recordID, calls.OutcomeFailed)
		return
	}
	// The citizen is called only while the agent is on the line: an agent
	// who hangs up meanwhile ends the citizen's ringing.
	dctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(leg.Context(), cancel)()
	citizen, res, err := d.placeCall(dctx, r, channel)
	cancel()
	endTone()
	if leg.Detached() {
		// This controller is stopping mid-dial: the lease brings the recall
		// back to another instance, which hangs the citizen's leg up and
		// counts the try (recover.sql).
		r.log.Warn("controller stopping mid-dial: the recall is left to its lease")
		return
	}
	if leg.Context().Err() != nil && ctx.Err() == nil {
		// The agent left before the citizen answered: no try spent, the
		// recall goes back to its place.
		r.log.Warn("the agent hung up while the citizen rang: the recall goes back to its queue")
		if citizen != nil {
			citizen.Hangup(context.Background())
			d.phones.Release(citizen)
		}
		d.agents.FreeAgent(ctx, r.q, r.a, leg)
		d.requeue(ctx, r)
		d.endRecord(r, recordID, calls.OutcomeFailed)
		return
	}
	if err != nil || res != asterisk.Answered {
		d.unanswered(ctx, r, leg, recordID, res, err)
		return
	}
	d.answered(ctx, r, leg, citizen, recordID, rang)
}

// requeue puts a recall whose dial was cut short back in its queue, at
// its rank, no try spent.
func (d *Dialler) requeue(ctx context.Context, r dialling) {
	if !d.exec(ctx, r, "unclaim", pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "now": d.svc.now()}) {
		return
	}
	e := queue.RecallEntry{ID: r.id, Queue: r.q, Lane: Reason(r.reason).lane(), Priority: r.priority, Rank: r.entered, Phone: r.phone, Reason: r.reason,
		Requested: r.asked, WaitedBefore: r.asked.Sub(r.entered)}
	if e.Lane == queue.LaneOutOfHours {
		e.Rank, e.WaitedBefore = r.asked, 0
	}
	if err := d.queue.DropRecall(ctx, r.id); err != nil {
		r.log.Error("requeueing the recall", "err", err)
		return
	}
	if _, err := d.queue.EnterRecall(ctx, e); err != nil {
		r.log.Error("requeueing the recall", "err", err) // reconcile enters it
	}
}

// placeCall calls the citizen from the numero verde.
func (d *Dialler) placeCall(ctx context.Context, r dialling, channel string) (*asterisk.Call, asterisk.DialResult, error) {
	n, ok := phone.ParseItalian(r.phone)
	if !ok {
		return nil, asterisk.Failed, fmt.Errorf("%w: %s is not an Italian number", ErrInvalidRequest, pii.Phone(r.phone))
	}
	endpoint := strings.NewReplacer("{e164}", n.E164, "{national}", n.National).Replace(d.cfg.DialString)
	req := asterisk.OriginateRequest{ChannelID: channel, Endpoint: endpoint, CallerID: d.cfg.CallerID, Timeout: d.cfg.AnswerTimeout,
		Formats: asterisk.TrunkFormats, Variables: map[string]string{VarRecall: strconv.FormatInt(r.id, 10)}}
	citizen, err := d.phones.Originate(ctx, req)
	if err != nil {
		return nil, asterisk.Failed, err
	}
	return d.phones.AwaitAnswer(ctx, citizen, req.Timeout)
}

// unanswered: busy, no answer, unreachable. The agent is free at once; the
// try is spent, the next one comes after RetryAfter in service hours (its
// queue place kept), or, after the last, an SMS says the CUP tried.
func (d *Dialler) unanswered(ctx context.Context, r dialling, leg *asterisk.Call, recordID uuid.UUID, res asterisk.DialResult, cause error) {
	d.agents.FreeAgent(ctx, r.q, r.a, leg)
	result, outcome := "no_answer", calls.OutcomeNoAnswer
	switch {
	case cause != nil || res == asterisk.Failed:
		result, outcome = "unreachable", calls.OutcomeUnreachable
	case res == asterisk.Busy:
		result, outcome = "busy", calls.OutcomeBusy
	}
	r.log.Info("citizen did not answer the recall", "result", result, "err", cause)
	d.svc.m.attempts.WithLabelValues(result).Inc()
	now := d.svc.now()
	err := pgx.BeginTxFunc(ctx, d.svc.db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var status, number string
		err := tx.QueryRow(ctx, queries.Get("unanswered"), pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "result": result,
			"tries": d.svc.policy.Tries, "next": d.svc.policy.nextTry(now), "now": now}).Scan(&status, &number)
		if err != nil {
			return err
		}
		if Status(status) == StatusFailed {
			return d.svc.failedText(ctx, tx, r.id, number, now)
		}
		return nil
	})
	if err != nil {
		r.log.Error("recording the unanswered recall", "err", err)
	}
	// Out of its queue until the next try (which enters it again, at its
	// rank).
	if err := d.queue.DropRecall(ctx, r.id); err != nil {
		r.log.Error("dropping the recall's queue entry", "err", err)
	}
	d.endRecord(r, recordID, outcome)
}

// answered: connected (recorded before the bridge), the citizen hears who
// calls, and talks to the agent.
func (d *Dialler) answered(ctx context.Context, r dialling, leg, citizen *asterisk.Call, recordID uuid.UUID, rang time.Time) {
	defer d.phones.Release(citizen)
	now := d.svc.now()
	var asked time.Time
	err := d.svc.db.QueryRow(ctx, queries.Get("connected"), pgx.NamedArgs{"id": r.id, "owner": d.cfg.Instance, "now": now}).Scan(&asked)
	if err != nil {
		// Taken back meanwhile (this instance was presumed dead): the other
		// instance owns the recall now.
		r.log.Error("recording the recall connected", "err", err)
		citizen.Hangup(context.Background())
		d.agents.FreeAgent(ctx, r.q, r.a, leg)
		d.endRecord(r, recordID, calls.OutcomeFailed)
		return
	}
	d.svc.m.attempts.WithLabelValues("connected").Inc()
	d.svc.m.connected.Inc()
	d.svc.m.serviceLevel.Observe(now.Sub(asked).Seconds())
	if err := d.records.Answered(ctx, recordID, now); err != nil {
		r.log.Error("recording the recall's answer", "err", err)
	}
	r.log.Info("citizen answered the recall", "asked", now.Sub(asked).Round(time.Second))
	_, _ = citizen.Play(citizen.Context(), prompts.Sound("richiamata_saluto"))
	h, err := d.agents.Converse(ctx, r.q, r.a, citizen, leg, rang)
	if err != nil {
		if citizen.Detached() {
			return // the conversation goes on for the next controller
		}
		if citizen.Context().Err() == nil {
			r.log.Error("recall conversation", "err", err)
		}
	}
	end := calls.Ending{Outcome: calls.OutcomeAgentAnswered, RecallID: r.id, Agent: r.a.AgentID, Queue: r.q}
	if h.Outcome == "" {
		// The citizen hung up while hearing who called, before the bridge.
		end.Outcome = calls.OutcomeHungUp
	}
	if err := d.records.End(context.Background(), recordID, end, d.svc.now()); err != nil {
		r.log.Error("ending the recall's call record", "err", err)
	}
}

// endRecord closes the record of a try that did not connect.
func (d *Dialler) endRecord(r dialling, id uuid.UUID, outcome calls.Outcome) {
	if id == uuid.Nil {
		return
	}
	if err := d.records.End(context.Background(), id, calls.Ending{Outcome: outcome, RecallID: r.id, Agent: r.a.AgentID, Queue: r.q},
		d.svc.now()); err != nil {
		r.log.Error("ending the recall's call record", "err", err)
	}
}

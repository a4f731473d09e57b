package recall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/phone"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/startstop"
)

// Queue is where recalls wait for their turn and an agent (queue.Store).
type Queue interface {
	// EnterRecall puts a recall in its queue (once: one there keeps its
	// place).
	EnterRecall(ctx context.Context, r queue.RecallEntry) (bool, error)
	DropRecall(ctx context.Context, id int64) error
	// RecallsWaiting tells which recalls are in their queue.
	RecallsWaiting(ctx context.Context, ids []int64) (map[int64]bool, error)
}

// Turns estimates when the wait recalls of a queue come to an agent
// (queue.Store).
type Turns interface {
	RecallTurns(ctx context.Context, queue string, aht time.Duration) (map[int64]queue.Turn, error)
}

// Outbox writes SMS in a transaction, to numbers that did not opt out
// (sms.Outbox).
type Outbox interface {
	Enqueue(ctx context.Context, tx sms.Execer, m sms.Message, now time.Time) (bool, error)
	OptedOut(ctx context.Context, phone string) (bool, error)
}

// Hangups hangs up a channel by id (*asterisk.Client): the citizen's leg
// of a dial whose instance died.
type Hangups interface {
	HangupChannel(ctx context.Context, id string) error
}

// Pairings tells, of a recall whose queue entry is not waiting, whether
// an agent is still reserved for it (queue.Store). A Queue that is one
// lets reconcile find the recalls an instance paired and died before
// claiming: queued in PostgreSQL, held in Redis by nobody.
type Pairings interface {
	RecallPlaces(ctx context.Context, ids []int64) (map[int64]int, error)
	Call(ctx context.Context, callID string) (queue.CallInfo, error)
	Agent(ctx context.Context, id string) (queue.Agent, error)
}

var (
	_ Pairings = (*queue.Store)(nil)
	_ Queue    = (*queue.Store)(nil)
	_ Turns    = (*queue.Store)(nil)
	_ Outbox   = (*sms.Outbox)(nil)
	_ Hangups  = (*asterisk.Client)(nil)
)

// SchedulerConfig tunes the scheduler.
type SchedulerConfig struct {
	// Poll is how often it looks (default 1 s).
	Poll time.Duration
	// Batch is how many due recalls one statement takes (default 500).
	Batch int
	// Reconcile: a recall queued longer than this and missing from its
	// queue (Redis lost it) enters again (default 10 s), checked this often.
	Reconcile time.Duration
	// PrealertLead: a mobile gets the pre-alert when its wait recall's
	// estimated turn is this close (default 2 min); out-of-hours recalls
	// get it at the opening.
	PrealertLead time.Duration
	// DefaultHandleTime is what the turn's estimate starts from, before
	// any call was handled (default 4 min).
	DefaultHandleTime time.Duration
}

// Scheduler moves recalls through time on every instance (SPEC §5): due
// ones (the opening, the next try) enter their queue, in service hours
// only; those past their validity expire; dials whose instance died come
// back after their lease; recalls Redis lost enter again; pre-alerts go
// when a recall's turn is near. Every change is a short transaction that
// skips rows another instance holds, so any number of instances run it.
type Scheduler struct {
	cfg     SchedulerConfig
	svc     *Service
	queue   Queue
	turns   Turns // nil: no pre-alert by turn
	hangups Hangups
	log     *slog.Logger
	loop    startstop.Loop

	lastReconcile time.Time
}

// NewScheduler builds a scheduler on the recall service; turns may be
// nil (no pre-alert before a wait recall's turn), hangups too (a dead
// instance's citizen leg is left to Asterisk).
func NewScheduler(cfg SchedulerConfig, svc *Service, q Queue, turns Turns, hangups Hangups, log *slog.Logger) *Scheduler {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Reconcile <= 0 {
		cfg.Reconcile = 10 * time.Second
	}
	if cfg.PrealertLead <= 0 {
		cfg.PrealertLead = 2 * time.Minute
	}
	if cfg.DefaultHandleTime <= 0 {
		cfg.DefaultHandleTime = 4 * time.Minute
	}
	return &Scheduler{cfg: cfg, svc: svc, queue: q, turns: turns, hangups: hangups,
		log: log.With("component", "recall", "part", "scheduler")}
}

// Start runs the scheduler until Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	if _, err := s.loop.Begin(ctx); err != nil {
		return fmt.Errorf("recall scheduler: %w", err)
	}
	s.loop.Go(func(ctx context.Context) error {
		t := time.NewTicker(s.cfg.Poll)
		defer t.Stop()
		for {
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("recall scheduler", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return nil
}

// Stop ends the scheduler; work in flight is abandoned as a crash would
// leave it, and taken up by another instance (or this one's next start).
func (s *Scheduler) Stop() { s.loop.Stop() }

// Tick does one round at the service's now.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.svc.now()
	var errs []error
	if s.svc.policy.Hours.Open(now) {
		_, err := s.Promote(ctx, now)
		errs = append(errs, err)
	}
	errs = append(errs, s.expire(ctx, now), s.recover(ctx, now))
	if now.Sub(s.lastReconcile) >= s.cfg.Reconcile {
		s.lastReconcile = now
		errs = append(errs, s.reconcile(ctx, now))
	}
	errs = append(errs, s.prealertTurns(ctx, now), s.observe(ctx, now))
	return errors.Join(errs...)
}

// Promote puts every recall due by now in its queue, a batch at a time:
// each batch is marked queued in one statement, then entered (a recall
// marked but not entered, should this instance die in between, is
// entered by reconcile). It returns how many it entered.
func (s *Scheduler) Promote(ctx context.Context, now time.Time) (int, error) {
	entered := 0
	for {
		rows, err := s.svc.db.Query(ctx, queries.Get("promote"), pgx.NamedArgs{"now": now, "n": s.cfg.Batch})
		if err != nil {
			return entered, fmt.Errorf("promoting due recalls: %w", err)
		}
		due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (entry, error) { return readEntry(row) })
		if err != nil {
			return entered, fmt.Errorf("promoting due recalls: %w", err)
		}
		for _, e := range due {
			if err := s.enter(ctx, e, now); err != nil {
				return entered, err
			}
			entered++
		}
		if len(due) < s.cfg.Batch {
			return entered, nil
		}
	}
}

// enter puts a recall in its queue; an out-of-hours recall, entering at
// the opening, gets its pre-alert now.
func (s *Scheduler) enter(ctx context.Context, e entry, now time.Time) error {
	if _, err := s.queue.EnterRecall(ctx, e.RecallEntry); err != nil {
		return fmt.Errorf("recall %d entering its queue: %w", e.ID, err)
	}
	if e.Lane == queue.LaneOutOfHours && !e.prealerted {
		return s.prealert(ctx, e.ID, e.Phone, now)
	}
	return nil
}

// prealert writes recall id's pre-alert to a mobile, once (the recall's
// mark and the message in one transaction).
func (s *Scheduler) prealert(ctx context.Context, id int64, number string, now time.Time) error {
	p := s.svc.policy
	n, ok := phone.ParseItalian(number)
	if !ok || n.Kind != phone.Mobile || p.Texts == nil {
		return nil // a landline gets no SMS
	}
	if out, err := p.Texts.OptedOut(ctx, n.E164); err != nil || out {
		return err // STOP: no pre-alert
	}
	body, err := sms.RecallText(sms.RecallPrealert, p.NumeroVerde)
	if err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.svc.db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, queries.Get("prealerted"), pgx.NamedArgs{"id": id, "now": now})
		if err != nil || tag.RowsAffected() == 0 {
			return err // already alerted
		}
		if _, err := p.Texts.Enqueue(ctx, tx, sms.Message{Kind: sms.RecallPrealert, Recall: id, Phone: n.E164, Body: body, Due: now}, now); err != nil {
			return fmt.Errorf("recall %d pre-alert: %w", id, err)
		}
		s.svc.m.prealerts.Inc()
		s.log.Info("recall pre-alert written", "recall_id", id, "phone", pii.Phone(n.E164))
		return nil
	})
}

// prealertTurns alerts the wait recalls whose estimated turn is within
// the lead.
func (s *Scheduler) prealertTurns(ctx context.Context, now time.Time) error {
	if s.turns == nil {
		return nil
	}
	rows, err := s.svc.db.Query(ctx, queries.Get("prealert_due"))
	if err != nil {
		return fmt.Errorf("listing recalls to pre-alert: %w", err)
	}
	type cand struct {
		id           int64
		queue, phone string
	}
	cands, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cand, error) {
		var c cand
		return c, row.Scan(&c.id, &c.queue, &c.phone)
	})
	if err != nil || len(cands) == 0 {
		return err
	}
	turns := map[string]map[int64]queue.Turn{}
	for _, c := range cands {
		t, ok := turns[c.queue]
		if !ok {
			if t, err = s.turns.RecallTurns(ctx, c.queue, s.cfg.DefaultHandleTime); err != nil {
				return err
			}
			turns[c.queue] = t
		}
		if turn, ok := t[c.id]; ok && turn.Wait <= s.cfg.PrealertLead {
			if err := s.prealert(ctx, c.id, c.phone, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// expire closes the recalls past their validity.
func (s *Scheduler) expire(ctx context.Context, now time.Time) error {
	rows, err := s.svc.db.Query(ctx, queries.Get("expire"), pgx.NamedArgs{"now": now})
	if err != nil {
		return fmt.Errorf("expiring recalls: %w", err)
	}
	type expired struct {
		id     int64
		reason string
	}
	gone, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (expired, error) {
		var e expired
		return e, row.Scan(&e.id, &e.reason)
	})
	if err != nil {
		return fmt.Errorf("expiring recalls: %w", err)
	}
	for _, e := range gone {
		s.svc.m.expired.Inc()
		s.svc.m.closed.WithLabelValues(string(StatusExpired)).Inc()
		s.log.Warn("recall expired unserved", "recall_id", e.id, "reason", e.reason)
		if err := s.queue.DropRecall(ctx, e.id); err != nil {
			return err
		}
	}
	return nil
}

// recover takes back the dials whose instance died: see recover.sql. A
// try that had called the citizen is counted, its channel hung up and
// its call record ended.
func (s *Scheduler) recover(ctx context.Context, now time.Time) error {
	var back []entry
	var cut []interrupted
	err := pgx.BeginTxFunc(ctx, s.svc.db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		back, cut = nil, nil
		rows, err := tx.Query(ctx, queries.Get("recover"), pgx.NamedArgs{"now": now, "tries": s.svc.policy.Tries,
			"next": s.svc.policy.nextTry(now)})
		if err != nil {
			return err
		}
		type dead struct {
			e                      entry
			channel, agent, status string
		}
		all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dead, error) {
			var d dead
			var err error
			d.e, err = readEntry(row, &d.channel, &d.agent, &d.status)
			return d, err
		})
		if err != nil {
			return err
		}
		for _, d := range all {
			// The dead instance's queue entry (its agent rung for it) is
			// stale: left there, it would keep the recall out of its queue
			// (EnterRecall keeps an entry there), and reconcile would take
			// it for one being dialled. Dropped before the commit, so that
			// dying in between leaves the dial to be taken back again.
			if err := s.queue.DropRecall(ctx, d.e.ID); err != nil {
				return err
			}
			if d.channel != "" {
				cut = append(cut, interrupted{recall: d.e.ID, channel: d.channel, agent: d.agent, queue: d.e.Queue})
				s.svc.m.attempts.WithLabelValues("interrupted").Inc()
			}
			switch Status(d.status) {
			case StatusQueued:
				back = append(back, d.e)
			case StatusFailed:
				if err := s.svc.failedText(ctx, tx, d.e.ID, d.e.Phone, now); err != nil {
					return err
				}
			}
			s.log.Warn("recall taken back from a dead instance", "recall_id", d.e.ID, "status", d.status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("taking back dials of dead instances: %w", err)
	}
	for _, c := range cut {
		if s.hangups != nil {
			if err := s.hangups.HangupChannel(ctx, c.channel); err != nil {
				s.log.Error("hanging up an interrupted recall's citizen", "recall_id", c.recall, "err", err)
			}
		}
		if err := s.endTry(ctx, c, now); err != nil {
			s.log.Error("ending an interrupted recall's call record", "recall_id", c.recall, "err", err)
		}
	}
	for _, e := range back {
		if err := s.enter(ctx, e, now); err != nil {
			return err
		}
	}
	return nil
}

// interrupted is a try whose instance died after calling the citizen.
type interrupted struct {
	recall                int64
	channel, agent, queue string
}

// endTry ends the call record of an interrupted try, as failed: the call
// records have no outcome of their own for a try cut short by its
// instance's death (the recall's last_result says "interrupted").
func (s *Scheduler) endTry(ctx context.Context, c interrupted, now time.Time) error {
	var id uuid.UUID
	err := s.svc.db.QueryRow(ctx, queries.Get("open_try"), pgx.NamedArgs{"channel": c.channel}).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // never recorded, or ended already
	}
	if err != nil {
		return err
	}
	return s.svc.records.Load().End(ctx, id, calls.Ending{Outcome: calls.OutcomeFailed, RecallID: c.recall, Agent: c.agent, Queue: c.queue}, now)
}

// reconcile enters again the queued recalls their queue lost (a Redis
// restart, an instance that died between marking and entering).
func (s *Scheduler) reconcile(ctx context.Context, now time.Time) error {
	var after int64
	for {
		rows, err := s.svc.db.Query(ctx, queries.Get("queued_before"), pgx.NamedArgs{"before": now.Add(-s.cfg.Reconcile), "after": after,
			"n": s.cfg.Batch})
		if err != nil {
			return fmt.Errorf("reconciling queued recalls: %w", err)
		}
		queued, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (entry, error) { return readEntry(row) })
		if err != nil {
			return fmt.Errorf("reconciling queued recalls: %w", err)
		}
		if len(queued) == 0 {
			return nil
		}
		ids := make([]int64, len(queued))
		for i, e := range queued {
			ids[i] = e.ID
		}
		there, err := s.queue.RecallsWaiting(ctx, ids)
		if err != nil {
			return err
		}
		held, err := s.heldByNobody(ctx, ids, there)
		if err != nil {
			return err
		}
		for _, e := range queued {
			switch {
			case held[e.ID]:
				s.log.Warn("recall paired by an instance that died before claiming it: entered again", "recall_id", e.ID)
				if err := s.queue.DropRecall(ctx, e.ID); err != nil {
					return err
				}
			case there[e.ID]:
				continue
			default:
				s.log.Warn("recall missing from its queue: entered again", "recall_id", e.ID)
			}
			if err := s.enter(ctx, e, now); err != nil {
				return err
			}
		}
		after = ids[len(ids)-1]
		if len(queued) < s.cfg.Batch {
			return nil
		}
	}
}

// heldByNobody returns, of the queued recalls ids whose entry is there,
// those not waiting in their lane whose agent is no longer reserved for
// them: the instance that paired them died before its claim (a claim
// makes the recall dialling, so a queued one was never claimed), and the
// agent was freed since (queue.Store.ReleaseOrphans).
func (s *Scheduler) heldByNobody(ctx context.Context, ids []int64, there map[int64]bool) (map[int64]bool, error) {
	p, ok := s.queue.(Pairings)
	if !ok {
		return nil, nil
	}
	places, err := p.RecallPlaces(ctx, ids)
	if err != nil {
		return nil, err
	}
	held := map[int64]bool{}
	for _, id := range ids {
		if !there[id] || places[id] > 0 {
			continue // missing (entered again anyway), or waiting
		}
		c, err := p.Call(ctx, queue.RecallCallID(id))
		if errors.Is(err, queue.ErrNotWaiting) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c.State != queue.StateRinging {
			continue
		}
		a, err := p.Agent(ctx, c.Agent)
		if err != nil && !errors.Is(err, queue.ErrUnknownAgent) {
			return nil, err // not knowing is not knowing it was freed
		}
		if err == nil && a.CallID == c.CallID && a.State == queue.Ringing {
			continue // being paired now, or its instance not yet known dead
		}
		held[id] = true
	}
	return held, nil
}

// observe sets the pending gauges.
func (s *Scheduler) observe(ctx context.Context, now time.Time) error {
	rows, err := s.svc.db.Query(ctx, queries.Get("stats"))
	if err != nil {
		return fmt.Errorf("counting open recalls: %w", err)
	}
	defer rows.Close()
	counts := map[Reason]float64{ReasonWait: 0, ReasonOutOfHours: 0}
	var oldest time.Time
	for rows.Next() {
		var reason string
		var n int64
		var first time.Time
		if err := rows.Scan(&reason, &n, &first); err != nil {
			return err
		}
		counts[Reason(reason)] = float64(n)
		if oldest.IsZero() || first.Before(oldest) {
			oldest = first
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for r, n := range counts {
		s.svc.m.pending.WithLabelValues(string(r)).Set(n)
	}
	if oldest.IsZero() {
		s.svc.m.oldest.Set(0)
	} else {
		s.svc.m.oldest.Set(now.Sub(oldest).Seconds())
	}
	return nil
}

// failedText writes, in tx, the SMS telling a mobile that every try went
// unanswered (once per recall).
func (s *Service) failedText(ctx context.Context, tx pgx.Tx, id int64, number string, now time.Time) error {
	s.m.closed.WithLabelValues(string(StatusFailed)).Inc()
	s.log.Warn("recall failed: every try unanswered", "recall_id", id)
	n, ok := phone.ParseItalian(number)
	if !ok || n.Kind != phone.Mobile || s.policy.Texts == nil {
		return nil
	}
	body, err := sms.RecallText(sms.RecallFailed, s.policy.NumeroVerde)
	if err != nil {
		return err
	}
	_, err = s.policy.Texts.Enqueue(ctx, tx, sms.Message{Kind: sms.RecallFailed, Recall: id, Phone: n.E164, Body: body, Due: now}, now)
	return err
}

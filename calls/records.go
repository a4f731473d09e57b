// Package calls is the call record (SPEC §3): every call, inbound or a
// recall attempt, leaves one row in PostgreSQL with its times, whether it
// came in service hours, the IVR path, the queue wait, who answered and
// how it ended. The IVR, the queue, the recall dialler and the report use
// it without the IVR.
package calls

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/centralino-cup/centralino/postgres"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries is the package's SQL, one file per statement.
var queries = postgres.LoadQueries(queryFiles, "calls")

// Outcome is how a call ended (the call_outcome type).
type Outcome string

// Outcomes the manager's report counts (SPEC §3, §8).
const (
	OutcomeSelfBooked       Outcome = "self_booked"
	OutcomeSelfCancelled    Outcome = "self_cancelled"
	OutcomeSelfMoved        Outcome = "self_moved"
	OutcomeAgentAnswered    Outcome = "agent_answered"
	OutcomeAbandoned        Outcome = "abandoned"
	OutcomeRecallRequested  Outcome = "recall_requested"
	OutcomeOutOfHoursRecall Outcome = "out_of_hours_recall"
	OutcomeHungUp           Outcome = "hung_up"
	// OutcomeTransferred: handed to a queue that records the rest; a call
	// the queue gives back continues its record.
	OutcomeTransferred Outcome = "transferred"
	OutcomeClosed      Outcome = "closed"
	OutcomeFailed      Outcome = "failed"
	// A recall's try the citizen did not answer.
	OutcomeBusy        Outcome = "busy"
	OutcomeNoAnswer    Outcome = "no_answer"
	OutcomeUnreachable Outcome = "unreachable"
)

// Records writes call records to PostgreSQL.
type Records struct {
	db *pgxpool.Pool
	// started and ended count the records as they are written, so that
	// PromQL counts the calls the report counts (nil until Register).
	started, ended *prometheus.CounterVec
}

// NewRecords builds the call-record store.
func NewRecords(db *pgxpool.Pool) *Records { return &Records{db: db} }

// Register exports the call counters on reg:
// centralino_calls_started_total{direction,hours} counts each record once,
// when it is written (the report's calls total, in and out of hours, and
// recalls made), and centralino_calls_ended_total{direction,hours,outcome,queue}
// each ending (a call handed to app_queue that comes back ends twice:
// transferred, then its outcome).
func (r *Records) Register(reg prometheus.Registerer) *Records {
	f := promauto.With(reg)
	r.started = f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_calls_started_total",
		Help: "Call records started, by direction (inbound, recall) and hours (in, out of service hours)."}, []string{"direction", "hours"})
	r.ended = f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_calls_ended_total",
		Help: "Call records ended, by direction, hours, outcome and queue (empty: none)."}, []string{"direction", "hours", "outcome", "queue"})
	return r
}

// hoursLabel is the hours label of a record.
func hoursLabel(inHours bool) string {
	if inHours {
		return "in"
	}
	return "out"
}

// Arrival is what is known when a call arrives.
type Arrival struct {
	ChannelID string
	Inbound   bool
	// Caller is E.164, or empty when withheld.
	Caller  string
	DID     string
	InHours bool
}

// Start writes the record of a new call and returns its id. A channel that
// already has a record (a call recovered after a restart) keeps it: the
// same id is returned.
func (r *Records) Start(ctx context.Context, c Arrival, now time.Time) (uuid.UUID, error) {
	id := uuid.New()
	dir := "recall"
	if c.Inbound {
		dir = "inbound"
	}
	var caller *string
	if c.Caller != "" {
		caller = &c.Caller
	}
	tag, err := r.db.Exec(ctx, queries.Get("call_start"), pgx.NamedArgs{"id": id, "channel_id": c.ChannelID, "direction": dir,
		"caller": caller, "did": c.DID, "now": now, "in_hours": c.InHours})
	if err != nil {
		return uuid.Nil, fmt.Errorf("starting call record: %w", err)
	}
	if tag.RowsAffected() == 1 && r.started != nil {
		// A recovered call, whose record exists, is not counted again.
		r.started.WithLabelValues(dir, hoursLabel(c.InHours)).Inc()
	}
	var stored uuid.UUID
	var started time.Time
	var inHours bool
	if err := r.db.QueryRow(ctx, queries.Get("call_by_channel"), pgx.NamedArgs{"channel_id": c.ChannelID}).Scan(&stored, &started, &inHours); err != nil {
		return uuid.Nil, fmt.Errorf("starting call record: %w", err)
	}
	return stored, nil
}

// Answered records the answer time (the first one counts).
func (r *Records) Answered(ctx context.Context, id uuid.UUID, now time.Time) error {
	if _, err := r.db.Exec(ctx, queries.Get("call_answer"), pgx.NamedArgs{"id": id, "now": now}); err != nil {
		return fmt.Errorf("recording answer: %w", err)
	}
	return nil
}

// Step appends a step to the call's IVR path, with what was keyed at that
// step for the agent's screen (nil for nothing).
func (r *Records) Step(ctx context.Context, id uuid.UUID, step string, keyed map[string]string) error {
	if keyed == nil {
		keyed = map[string]string{}
	}
	k, err := json.Marshal(keyed)
	if err != nil {
		return fmt.Errorf("recording step: %w", err)
	}
	if _, err := r.db.Exec(ctx, queries.Get("call_step"), pgx.NamedArgs{"id": id, "step": step, "keyed": string(k)}); err != nil {
		return fmt.Errorf("recording step: %w", err)
	}
	return nil
}

// Ending is how a call ended.
type Ending struct {
	Outcome       Outcome
	BookingNumber string
	RecallID      int64
	// Agent who answered, if any.
	Agent string
	// Queue the caller waited in ("" for none), from QueueEntered to
	// QueueLeft (zero: not known).
	Queue                   string
	QueueEntered, QueueLeft time.Time
}

// End closes the record; only the first End of a call counts, except
// after a transfer: a call the queue gives back ends again.
func (r *Records) End(ctx context.Context, id uuid.UUID, e Ending, now time.Time) error {
	var number *string
	if e.BookingNumber != "" {
		number = &e.BookingNumber
	}
	var recallID *int64
	if e.RecallID != 0 {
		recallID = &e.RecallID
	}
	var agent *string
	if e.Agent != "" {
		agent = &e.Agent
	}
	var queue *string
	var entered, left *time.Time
	if e.Queue != "" {
		queue = &e.Queue
	}
	if !e.QueueEntered.IsZero() {
		entered = &e.QueueEntered
	}
	if !e.QueueLeft.IsZero() {
		left = &e.QueueLeft
	}
	var dir, queueName string
	var inHours bool
	err := r.db.QueryRow(ctx, queries.Get("call_end"), pgx.NamedArgs{"id": id, "now": now, "outcome": string(e.Outcome),
		"booking_number": number, "recall_id": recallID, "agent": agent,
		"queue_name": queue, "queue_entered_at": entered, "queue_left_at": left}).Scan(&dir, &inHours, &queueName)
	if postgres.IsNotFound(err) {
		return nil // ended already: the first end counts
	}
	if err != nil {
		return fmt.Errorf("ending call record: %w", err)
	}
	if r.ended != nil {
		r.ended.WithLabelValues(dir, hoursLabel(inHours), string(e.Outcome), queueName).Inc()
	}
	return nil
}

// CloseGone ends, as hung up at now, the records of calls started before
// `before` that are still open although their channel is gone: a caller
// who hung up while no controller was there (one stopped, the next not
// yet up), whose end nobody saw. up says whether a channel is still in
// Asterisk; a channel it cannot tell about is left open. It returns how
// many records it ended.
func (r *Records) CloseGone(ctx context.Context, now, before time.Time, up func(ctx context.Context, channelID string) (bool, error)) (int, error) {
	rows, err := r.db.Query(ctx, queries.Get("calls_open"), pgx.NamedArgs{"before": before})
	if err != nil {
		return 0, fmt.Errorf("listing open calls: %w", err)
	}
	type open struct {
		id      uuid.UUID
		channel string
	}
	calls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (open, error) {
		var o open
		return o, row.Scan(&o.id, &o.channel)
	})
	if err != nil {
		return 0, fmt.Errorf("listing open calls: %w", err)
	}
	closed := 0
	for _, c := range calls {
		live, err := up(ctx, c.channel)
		if err != nil || live {
			continue
		}
		if err := r.End(ctx, c.id, Ending{Outcome: OutcomeHungUp}, now); err != nil {
			return closed, err
		}
		closed++
	}
	return closed, nil
}

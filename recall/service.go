package recall

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/queue"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries is the package's SQL, one file per statement.
var queries = postgres.LoadQueries(queryFiles, "recall")

// Reason is why a recall was asked.
type Reason string

// Reasons (SPEC §5).
const (
	// ReasonWait: the caller accepted the two-minute offer in the queue and
	// keeps the queue time.
	ReasonWait Reason = "wait"
	// ReasonOutOfHours: the caller asked out of hours; served from the next
	// opening.
	ReasonOutOfHours Reason = "out_of_hours"
)

// lane is where a recall of this reason waits in its queue.
func (r Reason) lane() queue.Lane {
	if r == ReasonOutOfHours {
		return queue.LaneOutOfHours
	}
	return queue.LaneLive
}

// Status is where a recall request is in its life (the migration tells
// them).
type Status string

// Statuses.
const (
	StatusPending       Status = "pending"
	StatusQueued        Status = "queued"
	StatusDialling      Status = "dialling"
	StatusConnected     Status = "connected"
	StatusFailed        Status = "failed"
	StatusExpired       Status = "expired"
	StatusCancelled     Status = "cancelled"
	StatusServedInbound Status = "served_inbound"
)

// Errors callers branch on.
var (
	// ErrInvalidRequest is wrapped by every refusal of a malformed request.
	ErrInvalidRequest = errors.New("invalid recall request")
	// ErrNotFound: no such recall.
	ErrNotFound = errors.New("no such recall")
	// ErrNotOpen: the recall is being dialled or is over; it cannot be
	// changed.
	ErrNotOpen = errors.New("recall not open")
)

// Request is what a caller accepted.
type Request struct {
	// Phone is the Italian number to call back, E.164 (+39...).
	Phone  string
	Reason Reason
	// CallID is the call record the request came from (optional).
	CallID uuid.UUID
	// Queue and Priority are where the recall is served.
	Queue    string
	Priority int
	// QueueEnteredAt is when the caller first entered the queue (zero: now).
	QueueEnteredAt time.Time
	// NotBefore is the earliest dial time (the next opening; zero: now).
	NotBefore time.Time
}

// Accepted is a stored request.
type Accepted struct {
	ID        int64
	NotBefore time.Time
	// Joined is true when the number already had an open request, which
	// this one joined.
	Joined bool
}

// Policy is how recalls are served (SPEC §5).
type Policy struct {
	// Hours are the service hours: a recall is dialled only in them.
	Hours *hours.Schedule
	// ValidDays: a recall not served by the closing time of the
	// ValidDays-th service day after it was asked expires (default 1).
	ValidDays int
	// Tries is how many times the citizen is called (default 3), RetryAfter
	// apart (default 20 minutes), in service hours.
	Tries      int
	RetryAfter time.Duration
	// Texts writes the recall's SMS (the pre-alert, the tries failed) to
	// mobiles; nil sends none. NumeroVerde is the number they give.
	Texts       Outbox
	NumeroVerde string
}

func (p Policy) withDefaults() Policy {
	if p.ValidDays <= 0 {
		p.ValidDays = 1
	}
	if p.Tries <= 0 {
		p.Tries = 3
	}
	if p.RetryAfter <= 0 {
		p.RetryAfter = 20 * time.Minute
	}
	return p
}

// validUntil is when a recall asked at t expires.
func (p Policy) validUntil(t time.Time) time.Time {
	if until, ok := p.Hours.ClosingAfter(t, p.ValidDays); ok {
		return until
	}
	return t.Add(24 * time.Hour * time.Duration(p.ValidDays)) // a schedule that never opens
}

// nextTry is when a recall whose try failed at now is tried again: after
// RetryAfter, in service hours.
func (p Policy) nextTry(now time.Time) time.Time {
	next, ok := p.Hours.NextOpening(now.Add(p.RetryAfter))
	if !ok {
		return now.Add(p.RetryAfter)
	}
	return next
}

// Service keeps recall requests: durable from the moment the caller
// accepts (PostgreSQL), one open request per number.
type Service struct {
	db     *pgxpool.Pool
	policy Policy
	places Places // nil until WithQueue
	now    clock.Clock
	log    *slog.Logger
	m      *metrics
	// records ends the call record of a try taken back from a dead
	// instance: the dialler's (registered) once there is one.
	records atomic.Pointer[calls.Records]
}

// useRecords makes r the records the service ends tries with.
func (s *Service) useRecords(r *calls.Records) {
	if r != nil {
		s.records.Store(r)
	}
}

// WithQueue lets the service take recalls it closes out of their queue
// and place those it lists (queue.Store).
func (s *Service) WithQueue(p Places) *Service {
	s.places = p
	return s
}

// drop takes closed recalls out of their queue (a recall left there is
// given back when its turn comes: its claim fails).
func (s *Service) drop(ctx context.Context, ids ...int64) {
	if s.places == nil {
		return
	}
	for _, id := range ids {
		if err := s.places.DropRecall(ctx, id); err != nil {
			s.log.Error("dropping a closed recall from its queue", "recall_id", id, "err", err)
		}
	}
}

// NewService builds the recall requests' store, serving them by the
// default policy (SPEC §5 on the default service hours) until WithPolicy;
// Register exports its metrics.
func NewService(db *pgxpool.Pool, now clock.Clock, log *slog.Logger) *Service {
	s := &Service{db: db, policy: Policy{Hours: defaultHours}.withDefaults(), now: clock.Must(now, "recall"),
		log: log.With("component", "recall"), m: noMetrics()}
	s.records.Store(calls.NewRecords(db)) // not counted in metrics until a dialler brings its own
	return s
}

// defaultHours is SPEC §3's schedule.
var defaultHours = func() *hours.Schedule {
	h, err := hours.New(hours.Default())
	if err != nil {
		panic(err)
	}
	return h
}()

// WithPolicy serves recalls by p (the configured hours, tries, texts).
func (s *Service) WithPolicy(p Policy) *Service {
	if p.Hours == nil {
		p.Hours = defaultHours
	}
	s.policy = p.withDefaults()
	return s
}

var italianE164 = regexp.MustCompile(`^\+39[0-9]{6,12}$`)

// Request stores a recall request durably and returns once it is
// committed.
func (s *Service) Request(ctx context.Context, r Request) (Accepted, error) {
	return s.request(ctx, r, StatusPending)
}

func (s *Service) request(ctx context.Context, r Request, status Status) (Accepted, error) {
	if !italianE164.MatchString(r.Phone) {
		return Accepted{}, fmt.Errorf("%w: phone must be an Italian number in E.164 form", ErrInvalidRequest)
	}
	if r.Reason != ReasonWait && r.Reason != ReasonOutOfHours {
		return Accepted{}, fmt.Errorf("%w: reason %q", ErrInvalidRequest, r.Reason)
	}
	now := s.now()
	if r.Queue == "" {
		r.Queue = "booking"
	}
	if r.QueueEnteredAt.IsZero() {
		r.QueueEnteredAt = now
	}
	if r.NotBefore.IsZero() {
		r.NotBefore = now
	}
	var callID *uuid.UUID
	if r.CallID != uuid.Nil {
		callID = &r.CallID
	}
	var a Accepted
	var created bool
	var got string
	err := s.db.QueryRow(ctx, queries.Get("insert_request"), pgx.NamedArgs{
		"phone": r.Phone, "reason": string(r.Reason), "call_id": callID, "queue_name": r.Queue,
		"priority": r.Priority, "queue_entered_at": r.QueueEnteredAt, "now": now, "not_before": r.NotBefore,
		"valid_until": s.policy.validUntil(now), "status": string(status),
	}).Scan(&a.ID, &a.NotBefore, &created, &got)
	if err != nil {
		return Accepted{}, fmt.Errorf("storing recall request: %w", err)
	}
	a.Joined = !created
	if created {
		s.m.requested.WithLabelValues(string(r.Reason)).Inc()
	}
	s.log.Info("recall requested", "recall_id", a.ID, "phone", pii.Phone(r.Phone), "reason", r.Reason, "joined", a.Joined, "status", got)
	return a, nil
}

var _ queue.Recalls = (*Service)(nil)

// KeepPlace stores the recall a caller waiting in the queue accepted (the
// two-minute rule): it is in its queue at once (the queue passes it the
// caller's place) and keeps the time the caller entered the queue.
func (s *Service) KeepPlace(ctx context.Context, t queue.Ticket, entered time.Time) (int64, error) {
	a, err := s.request(ctx, Request{Phone: t.Caller, Reason: ReasonWait, CallID: t.CallID, Queue: t.Queue, QueueEnteredAt: entered},
		StatusQueued)
	return a.ID, err
}

// ServedInbound closes the recalls of a number whose citizen called again
// and was served (an agent answered, or self-service completed), unless
// one is being dialled: nobody is called for nothing. It returns the
// recalls closed, for the queue to drop.
func (s *Service) ServedInbound(ctx context.Context, phone string) ([]int64, error) {
	if phone == "" {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, queries.Get("served_inbound"), pgx.NamedArgs{"phone": phone, "now": s.now()})
	if err != nil {
		return nil, fmt.Errorf("closing recalls served meanwhile: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("closing recalls served meanwhile: %w", err)
	}
	for _, id := range ids {
		s.m.closed.WithLabelValues(string(StatusServedInbound)).Inc()
		s.log.Info("recall closed: the citizen was served meanwhile", "recall_id", id)
	}
	s.drop(ctx, ids...)
	return ids, nil
}

// Open is a recall not yet served, as agents and managers list it.
type Open struct {
	ID     int64     `json:"id"`
	Phone  string    `json:"phone"`
	Reason Reason    `json:"reason"`
	Queue  string    `json:"queue"`
	Status Status    `json:"status"`
	Asked  time.Time `json:"requested_at"`
	// Entered is when the caller first entered the queue (wait recalls).
	Entered     time.Time `json:"queue_entered_at"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt_at"`
	ValidUntil  time.Time `json:"valid_until"`
	Agent       string    `json:"agent,omitempty"`
	LastResult  string    `json:"last_result,omitempty"`
	// Place is the 1-based position in its queue's lane, when queued.
	Place int `json:"place,omitempty"`
	// Waited is how long since it was asked.
	WaitedSeconds int `json:"waited_s"`
	priority      int
}

// List returns the open recalls, first to be served first (at most 500),
// with their place in their queue.
func (s *Service) List(ctx context.Context) ([]Open, error) {
	rows, err := s.db.Query(ctx, queries.Get("open"), pgx.NamedArgs{"n": 500})
	if err != nil {
		return nil, fmt.Errorf("listing recalls: %w", err)
	}
	now := s.now()
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Open, error) {
		var o Open
		var reason, status string
		err := row.Scan(&o.ID, &o.Phone, &reason, &o.Queue, &status, &o.priority, &o.Asked, &o.Entered, &o.Attempts, &o.NextAttempt,
			&o.ValidUntil, &o.Agent, &o.LastResult)
		o.Reason, o.Status = Reason(reason), Status(status)
		o.WaitedSeconds = int(now.Sub(o.Asked).Seconds())
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing recalls: %w", err)
	}
	if s.places != nil && len(out) > 0 {
		ids := make([]int64, len(out))
		for i, o := range out {
			ids[i] = o.ID
		}
		placed, err := s.places.RecallPlaces(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Place = placed[out[i].ID]
		}
	}
	return out, nil
}

// Cancel closes an open recall a manager cancels; ErrNotOpen when it is
// being dialled or over, ErrNotFound when there is none.
func (s *Service) Cancel(ctx context.Context, id int64) error {
	var got int64
	err := s.db.QueryRow(ctx, queries.Get("cancel"), pgx.NamedArgs{"id": id, "now": s.now()}).Scan(&got)
	if err != nil {
		return s.notOpen(ctx, id, err, "cancelling recall")
	}
	s.m.closed.WithLabelValues(string(StatusCancelled)).Inc()
	s.log.Info("recall cancelled by a manager", "recall_id", id)
	s.drop(ctx, id)
	return nil
}

// Forward brings an open recall forward: first of its queue, and due now
// if it waits for its time. It returns its status.
func (s *Service) Forward(ctx context.Context, id int64) (Status, error) {
	var st string
	err := s.db.QueryRow(ctx, queries.Get("forward"), pgx.NamedArgs{"id": id, "now": s.now()}).Scan(&st)
	if err != nil {
		return "", s.notOpen(ctx, id, err, "bringing recall forward")
	}
	s.log.Info("recall brought forward by a manager", "recall_id", id)
	if Status(st) == StatusQueued && s.places != nil {
		if _, err := s.places.Forward(ctx, id); err != nil {
			return "", fmt.Errorf("bringing recall %d forward in its queue: %w", id, err)
		}
	}
	return Status(st), nil
}

// notOpen tells why a change to recall id matched no open recall.
func (s *Service) notOpen(ctx context.Context, id int64, err error, doing string) error {
	if !postgres.IsNotFound(err) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	var st string
	if err := s.db.QueryRow(ctx, queries.Get("lookup"), pgx.NamedArgs{"id": id}).Scan(&st); err != nil {
		if postgres.IsNotFound(err) {
			return fmt.Errorf("%s %d: %w", doing, id, ErrNotFound)
		}
		return fmt.Errorf("%s: %w", doing, err)
	}
	return fmt.Errorf("%s %d (%s): %w", doing, id, st, ErrNotOpen)
}

// entry is a recall row as its queue entry.
type entry struct {
	queue.RecallEntry
	due        time.Time
	prealerted bool
}

// readEntry scans a row of promote.sql, queued_before.sql or recover.sql:
// lead takes the columns before the entry's (recover's channel and
// status).
func readEntry(row pgx.Row, lead ...any) (entry, error) {
	var e entry
	var reason string
	var keyed []byte
	cols := append(lead, &e.ID, &e.Phone, &reason, &e.Queue, &e.Priority, &e.Rank, &e.Requested, &e.due, &e.prealerted, &keyed)
	if err := row.Scan(cols...); err != nil {
		return entry{}, err
	}
	e.Reason = reason
	e.Lane = Reason(reason).lane()
	if e.Lane == queue.LaneOutOfHours {
		e.Rank = e.Requested // among the recalls, by when they were asked
	} else {
		e.WaitedBefore = e.Requested.Sub(e.Rank)
	}
	if err := json.Unmarshal(keyed, &e.Keyed); err != nil {
		return entry{}, fmt.Errorf("recall %d: keyed: %w", e.ID, err)
	}
	return e, nil
}

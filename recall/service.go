package recall

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/clock"
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

// ErrInvalidRequest is wrapped by every refusal of a malformed request.
var ErrInvalidRequest = errors.New("invalid recall request")

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

// Service stores recall requests.
type Service struct {
	db  *pgxpool.Pool
	now clock.Clock
	log *slog.Logger
}

// NewService builds the store.
func NewService(db *pgxpool.Pool, now clock.Clock, log *slog.Logger) *Service {
	return &Service{db: db, now: clock.Must(now, "recall"), log: log.With("component", "recall")}
}

var _ queue.Recalls = (*Service)(nil)

// KeepPlace stores the recall a caller waiting in the queue accepted (the
// two-minute rule): it keeps the time the caller entered the queue.
func (s *Service) KeepPlace(ctx context.Context, t queue.Ticket, entered time.Time) (int64, error) {
	a, err := s.Request(ctx, Request{Phone: t.Caller, Reason: ReasonWait, CallID: t.CallID, Queue: t.Queue, QueueEnteredAt: entered})
	return a.ID, err
}

var italianE164 = regexp.MustCompile(`^\+39[0-9]{6,12}$`)

// Request stores a recall request durably and returns once it is
// committed.
func (s *Service) Request(ctx context.Context, r Request) (Accepted, error) {
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
	err := s.db.QueryRow(ctx, queries.Get("insert_request"), pgx.NamedArgs{
		"phone": r.Phone, "reason": string(r.Reason), "call_id": callID, "queue_name": r.Queue,
		"priority": r.Priority, "queue_entered_at": r.QueueEnteredAt, "now": now, "not_before": r.NotBefore,
	}).Scan(&a.ID, &a.NotBefore, &created)
	if err != nil {
		return Accepted{}, fmt.Errorf("storing recall request: %w", err)
	}
	a.Joined = !created
	s.log.Info("recall requested", "recall_id", a.ID, "phone", pii.Phone(r.Phone), "reason", r.Reason, "joined", a.Joined)
	return a, nil
}

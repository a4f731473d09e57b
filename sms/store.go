package sms

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/centralino-cup/centralino/phone"
	"github.com/centralino-cup/centralino/postgres"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries is the package's SQL, one file per statement.
var queries = postgres.LoadQueries(queryFiles, "sms")

// Errors.
var (
	// ErrInvalid wraps every refusal of a malformed message.
	ErrInvalid = errors.New("invalid sms")
	// ErrLeaseLost: another sender took the message over (this one was too
	// slow); it must not record anything.
	ErrLeaseLost = errors.New("sms lease lost")
)

// Outbox is the SMS outbox in PostgreSQL.
type Outbox struct {
	db       *pgxpool.Pool
	statuses *prometheus.CounterVec
}

// Register exports the delivery statuses recorded from Twilio's callbacks
// (centralino_sms_status_total{kind,status}).
func (o *Outbox) Register(reg prometheus.Registerer) *Outbox {
	o.statuses = promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "centralino_sms_status_total",
		Help: "Delivery statuses recorded from Twilio's callbacks, by kind and status (delivered, failed)."}, []string{"kind", "status"})
	for _, k := range kinds {
		o.statuses.WithLabelValues(string(k), "delivered")
		o.statuses.WithLabelValues(string(k), "failed")
	}
	return o
}

// NewOutbox builds the outbox.
func NewOutbox(db *pgxpool.Pool) *Outbox { return &Outbox{db: db} }

// Message is one SMS to send, about a booking or a recall.
type Message struct {
	Kind          Kind
	BookingNumber string
	// Recall is the recall request a recall message is about (instead of
	// a booking).
	Recall int64
	// Reply is the MessageSid of the citizen's message this one answers
	// (instead of a booking).
	Reply string
	// Phone is E.164.
	Phone string
	Body  string
	// Due is the earliest sending time (already out of quiet hours).
	Due time.Time
}

// Key is the idempotency key: one message per booking (or recall) and
// kind.
func (m Message) Key() string {
	switch {
	case m.Recall != 0:
		return fmt.Sprintf("%s:recall-%d", m.Kind, m.Recall)
	case m.Reply != "":
		return string(m.Kind) + ":reply-" + m.Reply
	}
	return string(m.Kind) + ":" + m.BookingNumber
}

// subjects counts what a message is about: a booking, a recall, a reply.
func (m Message) subjects() int {
	n := 0
	for _, set := range []bool{m.BookingNumber != "", m.Recall != 0, m.Reply != ""} {
		if set {
			n++
		}
	}
	return n
}

// Execer runs a statement: a pool, or the transaction of the event that
// causes the message.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Enqueue writes m in tx (the transaction of the booking change that
// causes it); created=false when it was already there.
func (o *Outbox) Enqueue(ctx context.Context, tx Execer, m Message, now time.Time) (bool, error) {
	n, ok := phone.ParseItalian(m.Phone)
	if !ok || n.Kind != phone.Mobile {
		return false, fmt.Errorf("%w: %q is not an Italian mobile number", ErrInvalid, m.Phone)
	}
	if m.subjects() != 1 || m.Body == "" || m.Due.IsZero() {
		return false, fmt.Errorf("%w: one subject (a booking number, a recall or a reply), a body and a due time are required", ErrInvalid)
	}
	var number *string
	if m.BookingNumber != "" {
		number = &m.BookingNumber
	}
	tag, err := tx.Exec(ctx, queries.Get("enqueue"), pgx.NamedArgs{"key": m.Key(), "kind": string(m.Kind), "booking_number": number,
		"phone": n.E164, "body": m.Body, "due_at": m.Due, "now": now})
	if err != nil {
		return false, fmt.Errorf("enqueueing sms: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Claimed is a message a sender holds until its lease ends.
type Claimed struct {
	ID       int64
	Key      string
	Kind     Kind
	Phone    string
	Body     string
	Attempts int
	// SID is set when an earlier attempt may have reached Twilio: check it
	// before sending again.
	SID string
}

// Claim takes up to n due messages for owner until now+lease.
func (o *Outbox) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]Claimed, error) {
	rows, err := o.db.Query(ctx, queries.Get("claim"), pgx.NamedArgs{"owner": owner, "lease_until": now.Add(lease), "now": now, "n": n})
	if err != nil {
		return nil, fmt.Errorf("claiming sms: %w", err)
	}
	var out []Claimed
	for rows.Next() {
		var c Claimed
		var kind string
		var sid *string
		if err := rows.Scan(&c.ID, &c.Key, &kind, &c.Phone, &c.Body, &c.Attempts, &sid); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claiming sms: %w", err)
		}
		c.Kind = Kind(kind)
		if sid != nil {
			c.SID = *sid
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (o *Outbox) held(ctx context.Context, sql string, args pgx.NamedArgs) error {
	tag, err := o.db.Exec(ctx, sql, args)
	if err != nil {
		return fmt.Errorf("recording sms: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Accepted records Twilio's MessageSid.
func (o *Outbox) Accepted(ctx context.Context, id int64, owner, sid string, now time.Time) error {
	return o.held(ctx, queries.Get("accepted"), pgx.NamedArgs{"id": id, "owner": owner, "sid": sid, "now": now})
}

// Defer puts back, unsent, a message claimed in quiet hours: it goes at
// at, and the claim does not count as an attempt.
func (o *Outbox) Defer(ctx context.Context, id int64, owner string, at, now time.Time) error {
	return o.held(ctx, queries.Get("defer"), pgx.NamedArgs{"id": id, "owner": owner, "at": at, "now": now})
}

// Retry puts a message back for another attempt at at.
func (o *Outbox) Retry(ctx context.Context, id int64, owner string, at time.Time, code int, now time.Time) error {
	return o.held(ctx, queries.Get("retry"), pgx.NamedArgs{"id": id, "owner": owner, "at": at, "code": code, "now": now})
}

// Fail ends a message that can never be delivered.
func (o *Outbox) Fail(ctx context.Context, id int64, owner string, code int, now time.Time) error {
	return o.held(ctx, queries.Get("failed"), pgx.NamedArgs{"id": id, "owner": owner, "code": code, "now": now})
}

// Withdraw drops a booking's pending messages of a kind (the reminder of a
// cancelled booking) and returns how many.
func (o *Outbox) Withdraw(ctx context.Context, tx Execer, bookingNumber string, kind Kind, now time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, queries.Get("withdraw"), pgx.NamedArgs{"booking_number": bookingNumber, "kind": string(kind), "now": now})
	if err != nil {
		return 0, fmt.Errorf("withdrawing sms: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Status records a status callback for a message; it reports whether it
// changed anything (repeated and out-of-order callbacks do not).
func (o *Outbox) Status(ctx context.Context, sid, twilioStatus string, code int, now time.Time) (bool, error) {
	var status string
	switch twilioStatus {
	case "delivered":
		status = "delivered"
	case "undelivered", "failed":
		status = "failed"
	default: // queued, sending, sent: still accepted
		return false, nil
	}
	var c *int
	if code != 0 {
		c = &code
	}
	var kind string
	err := o.db.QueryRow(ctx, queries.Get("status"), pgx.NamedArgs{"sid": sid, "status": status, "code": c, "now": now}).Scan(&kind)
	if postgres.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording sms status: %w", err)
	}
	if o.statuses != nil {
		o.statuses.WithLabelValues(kind, status).Inc()
	}
	return true, nil
}

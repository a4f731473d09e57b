package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/time/rate"

	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/startstop"
)

// Transport sends one message (Twilio, or anything speaking like it).
type Transport interface {
	Send(ctx context.Context, to, body string) (sid string, err error)
	// Find returns the sid of a message to `to` with this body sent since
	// `since`, if there is one.
	Find(ctx context.Context, to, body string, since time.Time) (sid string, ok bool, err error)
}

var _ Transport = (*Twilio)(nil)

// SenderConfig tunes a sender loop.
type SenderConfig struct {
	// Owner names this sender among the instances sharing the outbox.
	Owner string
	// PerSecond limits the messages sent per second (0: no limit).
	PerSecond float64
	// Batch is how many messages are claimed at once (default 50).
	Batch int
	// Lease is how long a claim holds before another sender may take the
	// message over (default 1 min).
	Lease time.Duration
	// Poll is how often the sender looks for due messages when none was
	// due (default 1 s).
	Poll time.Duration
	// Quiet are the hours reminders and notices may not go (a zero Quiet
	// allows every hour); immediate kinds go at any hour.
	Quiet Quiet
}

// Sender delivers the outbox: claim, send, record (SPEC §6).
type Sender struct {
	cfg     SenderConfig
	outbox  *Outbox
	t       Transport
	limiter *rate.Limiter
	now     clock.Clock
	log     *slog.Logger
	sent    *prometheus.CounterVec
	loop    startstop.Loop
}

// NewSender builds a sender; Start runs it.
func NewSender(cfg SenderConfig, outbox *Outbox, t Transport, now clock.Clock, reg prometheus.Registerer, log *slog.Logger) *Sender {
	if cfg.Batch <= 0 {
		cfg.Batch = 50
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	limit := rate.Inf
	if cfg.PerSecond > 0 {
		limit = rate.Limit(cfg.PerSecond)
	}
	sent := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "centralino_sms_messages_total",
		Help: "SMS handled by the sender, by kind and result (accepted, retry, failed, deferred to allowed hours)."}, []string{"kind", "result"})
	// Every series from the start, at zero: the failure ratio of the
	// alerts divides by them.
	for _, k := range kinds {
		for _, r := range []string{"accepted", "retry", "failed", "deferred"} {
			sent.WithLabelValues(string(k), r)
		}
	}
	return &Sender{cfg: cfg, outbox: outbox, t: t, limiter: rate.NewLimiter(limit, 1), now: clock.Must(now, "sms sender"),
		log: log.With("component", "sms", "sender", cfg.Owner), sent: sent}
}

// Start runs the sender until Stop: it delivers what is due, and looks
// again every Poll when nothing was.
func (s *Sender) Start(ctx context.Context) error {
	if _, err := s.loop.Begin(ctx); err != nil {
		return fmt.Errorf("sms sender: %w", err)
	}
	s.loop.Go(s.run)
	return nil
}

// Stop ends the sender and waits for the message in hand to be recorded.
func (s *Sender) Stop() { s.loop.Stop() }

func (s *Sender) run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		n, err := s.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("sending sms", "err", err)
		}
		if n > 0 && ctx.Err() == nil {
			continue // more may be due at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick claims one batch of due messages and delivers it; it returns how
// many were claimed.
func (s *Sender) Tick(ctx context.Context) (int, error) {
	claimed, err := s.outbox.Claim(ctx, s.cfg.Owner, s.now(), s.cfg.Lease, s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	for _, c := range claimed {
		if err := s.limiter.Wait(ctx); err != nil {
			return len(claimed), err
		}
		if err := s.deliver(ctx, c); err != nil && !errors.Is(err, ErrLeaseLost) {
			return len(claimed), err
		}
	}
	return len(claimed), nil
}

// Error codes with a meaning for the outbox.
const (
	codeOptedOut = 21610
	codeLandline = 21614
)

// final are Twilio's refusals of the recipient itself: never retried.
// Anything else (429, 5xx, credentials, network) is retried with backoff,
// so a configuration mistake delays messages and loses none.
var final = map[int]bool{
	21211:        true, // invalid 'To' number
	21408:        true, // region not enabled
	codeOptedOut: true, // the recipient replied STOP
	21612:        true, // cannot route to this number
	codeLandline: true, // not a mobile number
}

func (s *Sender) deliver(ctx context.Context, c Claimed) error {
	log := s.log.With("sms_id", c.ID, "kind", c.Kind, "phone", pii.Phone(c.Phone))
	// Quiet hours are checked now, not only when the message was written:
	// a retry or a backlog never goes at night or on a Sunday.
	if now := s.now(); !c.Kind.Immediate() && s.cfg.Quiet.Loc != nil && !s.cfg.Quiet.Allowed(now) {
		s.sent.WithLabelValues(string(c.Kind), "deferred").Inc()
		return s.outbox.Defer(ctx, c.ID, s.cfg.Owner, s.cfg.Quiet.Next(now), now)
	}
	// A number that replied STOP gets nothing more.
	if out, err := s.outbox.OptedOut(ctx, c.Phone); err != nil {
		return s.retry(ctx, c, 0, err)
	} else if out {
		s.sent.WithLabelValues(string(c.Kind), "failed").Inc()
		return s.outbox.Fail(ctx, c.ID, s.cfg.Owner, codeOptedOut, s.now())
	}
	// A later attempt first asks whether an earlier one got through (a
	// 500, or this sender died, after Twilio accepted): never twice.
	if c.Attempts > 1 {
		sid, ok, err := s.t.Find(ctx, c.Phone, c.Body, s.now().Add(-24*time.Hour))
		if err != nil {
			return s.retry(ctx, c, 0, err)
		}
		if ok {
			log.Info("sms found already accepted", "sid", sid)
			s.sent.WithLabelValues(string(c.Kind), "accepted").Inc()
			return s.outbox.Accepted(ctx, c.ID, s.cfg.Owner, sid, s.now())
		}
	}
	sid, err := s.t.Send(ctx, c.Phone, c.Body)
	if err == nil {
		s.sent.WithLabelValues(string(c.Kind), "accepted").Inc()
		return s.outbox.Accepted(ctx, c.ID, s.cfg.Owner, sid, s.now())
	}
	var se *SendError
	if errors.As(err, &se) {
		switch {
		case final[se.Code]:
			log.Warn("sms refused for good", "code", se.Code)
			s.sent.WithLabelValues(string(c.Kind), "failed").Inc()
			if se.Code == codeOptedOut || se.Code == codeLandline {
				// The number is marked: nothing more is tried on it.
				if _, oerr := s.outbox.db.Exec(ctx, queries.Get("optout"), pgx.NamedArgs{"phone": c.Phone, "now": s.now()}); oerr != nil {
					log.Error("marking the number", "err", oerr)
				}
			}
			return s.outbox.Fail(ctx, c.ID, s.cfg.Owner, se.Code, s.now())
		}
		return s.retry(ctx, c, se.Code, err)
	}
	return s.retry(ctx, c, 0, err)
}

// retry backs off 30 s, doubling per attempt, up to an hour.
func (s *Sender) retry(ctx context.Context, c Claimed, code int, cause error) error {
	backoff := min(30*time.Second<<min(c.Attempts-1, 7), time.Hour)
	s.log.Warn("sms will be retried", "sms_id", c.ID, "in", backoff, "err", cause)
	s.sent.WithLabelValues(string(c.Kind), "retry").Inc()
	if err := s.outbox.Retry(ctx, c.ID, s.cfg.Owner, s.now().Add(backoff), code, s.now()); err != nil {
		return fmt.Errorf("scheduling retry: %w", err)
	}
	return nil
}

// Package bench measures the SMS sender: many reminders due in the same
// minute, several sender instances on one outbox, the Twilio stand-in with
// no rate limit; it counts messages per second, duplicates and losses.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

// Result is the benchmark's last line.
type Result struct {
	Messages      int     `json:"messages"`
	MessagesPerS  float64 `json:"messages_per_s"`
	Duplicates    int     `json:"duplicates"`
	Lost          int     `json:"lost"`
	senderSeconds float64
}

// Options size the run.
type Options struct {
	Messages int // reminders due at once (100,000)
	Senders  int // sender instances (3)
}

// Run empties the bench database's outbox, enqueues the reminders, and
// delivers them with the senders against an in-process stand-in.
func Run(ctx context.Context, db *pgxpool.Pool, o Options, log *slog.Logger, out io.Writer) (Result, error) {
	res := Result{Messages: o.Messages}
	if _, err := db.Exec(ctx, "truncate sms_outbox, sms_optouts"); err != nil {
		return res, err
	}
	now := time.Now().UTC().Truncate(time.Minute)
	// Distinct bookings and mobile numbers, all due this minute.
	if _, err := db.Exec(ctx, `insert into sms_outbox (idempotency_key, kind, booking_number, phone, body, due_at, next_attempt_at, created_at, updated_at)
		select 'reminder:' || n, 'reminder', lpad(n::text, 12, '9'), '+39347' || lpad(n::text, 7, '0'),
		       'CUP: promemoria visita n. ' || n || '. Per disdire rispondi ANNULLA o chiama 800466222', $1, $1, $1, $1
		  from generate_series(1, $2::int) n`, now, o.Messages); err != nil {
		return res, fmt.Errorf("enqueueing reminders: %w", err)
	}
	fmt.Fprintf(out, "%d reminders due at %s, %d senders\n", o.Messages, now.Format(time.RFC3339), o.Senders)

	standin := twiliostandin.New("AC00000000000000000000000000000b3c", "benchauthtokennotasecret00000000")
	api := httptest.NewServer(standin)
	defer api.Close()
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: api.URL, AccountSID: standin.AccountSID, AuthToken: standin.AuthToken, From: "CUP"})
	if err != nil {
		return res, err
	}
	outbox := sms.NewOutbox(db)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range o.Senders {
		s := sms.NewSender(sms.SenderConfig{Owner: fmt.Sprintf("bench-%d", i+1), Batch: 100}, outbox, tw, time.Now, prometheus.NewRegistry(), log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n, err := s.Tick(ctx)
				if err != nil {
					log.Error("bench sender", "err", err)
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.MessagesPerS = float64(o.Messages) / elapsed.Seconds()

	bodies := map[string]int{}
	for _, m := range standin.Messages() {
		bodies[m.To+"|"+m.Body]++
	}
	for _, n := range bodies {
		if n > 1 {
			res.Duplicates += n - 1
		}
	}
	var accepted int
	if err := db.QueryRow(ctx, "select count(*) from sms_outbox where status = 'accepted'").Scan(&accepted); err != nil {
		return res, err
	}
	// Lost: a reminder neither accepted in the outbox nor received by the
	// stand-in.
	res.Lost = o.Messages - min(accepted, len(bodies))
	fmt.Fprintf(out, "sent %d in %.1f s: %.0f messages/s; %d received by the stand-in, %d duplicates, %d lost\n",
		accepted, elapsed.Seconds(), res.MessagesPerS, len(bodies), res.Duplicates, res.Lost)
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	return res, nil
}

// Package bench measures the recall (make bench-recall), in two parts.
//
// The scheduler: 100,000 recalls due at once, three scheduler instances on
// one PostgreSQL, one of them stopped midway with its work in flight (as a
// crash leaves it), and the step after the scheduler (entering the queue)
// a counting sink: recalls dispatched per second, duplicates, lost, and
// due → dispatched at the 99th percentile.
//
// The opening, end to end on the Asterisk sandbox: out-of-hours recalls due
// at the opening, simulated agents, simulated citizens who answer after
// 1–5 s (10 % busy, 10 % never), and live callers arriving meanwhile:
// minutes to serve every recall, citizens who answered with no agent on
// the line, and the share of live callers answered within 60 s.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// Result is the benchmark's last line (both parts merged).
type Result struct {
	Recalls              int     `json:"recalls"`
	RecallsPerS          float64 `json:"recalls_per_s"`
	Duplicates           int     `json:"duplicates"`
	Lost                 int     `json:"lost"`
	DueToDispatchP99ms   float64 `json:"due_to_dispatch_p99_ms"`
	OpeningRecalls       int     `json:"opening_recalls"`
	OpeningMinutes       float64 `json:"opening_minutes"`
	AnsweredWithoutAgent int     `json:"answered_without_agent"`
	LiveAnswered60sPct   float64 `json:"live_answered_60s_pct"`
}

// Always is a schedule open every minute of the week but the last of each
// day (a day's range ends at 23:59): the benchmark runs at any hour.
func Always() (*hours.Schedule, error) {
	weekly := map[string][]string{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		weekly[d] = []string{"00:00-23:59"}
	}
	return hours.New(hours.Config{TimeZone: "Europe/Rome", Weekly: weekly})
}

// sink stands for the queue the scheduler enters recalls in: it counts
// every entry and when it came.
type sink struct {
	mu      sync.Mutex
	entered map[int64][]time.Time
}

func (s *sink) EnterRecall(ctx context.Context, r queue.RecallEntry) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err // an instance stopping mid-batch: as a crash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entered[r.ID] = append(s.entered[r.ID], time.Now())
	return len(s.entered[r.ID]) == 1, nil
}

func (s *sink) DropRecall(ctx context.Context, id int64) error { return nil }

func (s *sink) RecallsWaiting(ctx context.Context, ids []int64) (map[int64]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = len(s.entered[id]) > 0
	}
	return out, nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entered)
}

// SchedulerOptions size the first part.
type SchedulerOptions struct {
	Recalls   int // due at once
	Instances int // scheduler instances; the first is stopped midway
}

// Scheduler runs the first part on db (a scratch database: its recalls
// are replaced) and fills the first half of res.
func Scheduler(ctx context.Context, db *pgxpool.Pool, o SchedulerOptions, log *slog.Logger, out io.Writer, res *Result) error {
	if _, err := db.Exec(ctx, "truncate calls, recall_requests restart identity cascade"); err != nil {
		return err
	}
	due := time.Now().Truncate(time.Millisecond)
	if _, err := db.Exec(ctx, `insert into recall_requests (phone, reason, queue_name, queue_entered_at, requested_at, not_before,
			next_attempt_at, valid_until, updated_at)
		select '+39347' || lpad(i::text, 7, '0'), 'out_of_hours', 'booking', $1, $1, $1, $1, $1::timestamptz + interval '1 day', $1
		  from generate_series(1, $2) i`, due, o.Recalls); err != nil {
		return fmt.Errorf("writing the due recalls: %w", err)
	}
	always, err := Always()
	if err != nil {
		return err
	}
	s := &sink{entered: map[int64][]time.Time{}}
	svc := recall.NewService(db, time.Now, log).WithPolicy(recall.Policy{Hours: always})
	cfg := recall.SchedulerConfig{Poll: 10 * time.Millisecond, Batch: 500, Reconcile: 2 * time.Second}
	scheds := make([]*recall.Scheduler, o.Instances)
	start := time.Now()
	for i := range scheds {
		scheds[i] = recall.NewScheduler(cfg, svc, s, nil, nil, log)
		if err := scheds[i].Start(ctx); err != nil {
			return err
		}
	}
	killed := false
	deadline := time.Now().Add(10 * time.Minute)
	var last time.Time
	for s.count() < o.Recalls && time.Now().Before(deadline) && ctx.Err() == nil {
		if !killed && s.count() >= o.Recalls/2 {
			killed = true
			scheds[0].Stop() // work in flight abandoned: taken up by the others
			fmt.Fprintf(out, "instance 1 stopped after %d recalls dispatched\n", s.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, sc := range scheds {
		sc.Stop()
	}
	var delays []time.Duration
	for _, at := range s.entered {
		res.Duplicates += len(at) - 1
		delays = append(delays, at[0].Sub(due))
		if at[0].After(last) {
			last = at[0]
		}
	}
	slices.Sort(delays)
	res.Recalls = o.Recalls
	res.Lost = o.Recalls - len(s.entered)
	res.RecallsPerS = float64(len(s.entered)) / last.Sub(start).Seconds()
	if len(delays) > 0 {
		res.DueToDispatchP99ms = float64(delays[len(delays)*99/100].Microseconds()) / 1000
	}
	fmt.Fprintf(out, "scheduler: %d recalls due at once, %d instances (one stopped midway): %d dispatched in %.1f s, %.0f recalls/s; "+
		"%d duplicates, %d lost; due → dispatched p99 %.0f ms\n", o.Recalls, o.Instances, len(s.entered), last.Sub(start).Seconds(),
		res.RecallsPerS, res.Duplicates, res.Lost, res.DueToDispatchP99ms)
	return nil
}

// Package bench measures the booking core on a seeded, Liguria-scale
// agenda: first-availability latency, booking commits per second with
// contending clients, the double bookings found afterwards, and pgbench's
// TPS on the same server for scale. centralinoctl bench booking runs it.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/booking"
)

// Options size a run.
type Options struct {
	// Lookups is how many first-availability queries are timed.
	Lookups int
	// Clients is how many concurrent clients book.
	Clients int
	// Duration is how long the clients book, and pgbench runs.
	Duration time.Duration
	Log      *slog.Logger
}

// Result is what a run prints as its last line.
type Result struct {
	FirstAvailableP50Ms float64  `json:"first_available_p50_ms"`
	FirstAvailableP99Ms float64  `json:"first_available_p99_ms"`
	Slots               int64    `json:"slots"`
	CommitsPerS         float64  `json:"commits_per_s"`
	Clients             int      `json:"clients"`
	DoubleBookings      int64    `json:"double_bookings"`
	PgbenchTPS          *float64 `json:"pgbench_tps"`
	RatioToPgbench      *float64 `json:"ratio_to_pgbench"`
}

type patient struct {
	nre   string
	birth time.Time
}

// Run measures and writes a human report to out, ending with one JSON line.
func Run(ctx context.Context, db *pgxpool.Pool, svc *booking.Service, opts Options, out io.Writer) (Result, error) {
	res := Result{Clients: opts.Clients}
	if err := db.QueryRow(ctx, "select count(*) from slots").Scan(&res.Slots); err != nil {
		return res, fmt.Errorf("counting slots: %w", err)
	}
	if res.Slots == 0 {
		return res, errors.New("no slots: seed the database first")
	}
	need := opts.Lookups + opts.Clients*int(opts.Duration.Seconds())*200
	patients, err := unusedPrescriptions(ctx, db, need)
	if err != nil {
		return res, err
	}
	if len(patients) < opts.Lookups+opts.Clients {
		return res, fmt.Errorf("only %d unused prescriptions: reseed with more", len(patients))
	}
	fmt.Fprintf(out, "agenda: %d slots, %d unused prescriptions\n", res.Slots, len(patients))

	// First availability, one client, as the IVR asks it.
	lat := make([]time.Duration, 0, opts.Lookups)
	for _, p := range patients[:opts.Lookups] {
		start := time.Now()
		_, err := svc.Availability(ctx, p.nre, p.birth, booking.ChannelAgent, 1)
		lat = append(lat, time.Since(start))
		if err != nil {
			return res, fmt.Errorf("first availability: %w", err)
		}
	}
	res.FirstAvailableP50Ms, res.FirstAvailableP99Ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	fmt.Fprintf(out, "first availability over %d lookups: p50 %.2f ms, p99 %.2f ms\n", opts.Lookups, res.FirstAvailableP50Ms, res.FirstAvailableP99Ms)

	// Contending bookings: every client chases the earliest free slots of
	// the same few services, so holds collide.
	commits, conflicts, err := contend(ctx, svc, patients[opts.Lookups:], opts)
	if err != nil {
		return res, err
	}
	res.CommitsPerS = float64(commits) / opts.Duration.Seconds()
	fmt.Fprintf(out, "bookings: %d commits in %s with %d clients (%.0f/s), %d lost races\n", commits, opts.Duration, opts.Clients, res.CommitsPerS, conflicts)

	if err := db.QueryRow(ctx, `select
		(select count(*) from (select slot_id from bookings where status in ('booked','attended','no_show')
		                        group by slot_id having count(*) > 1) d)
		+ (select count(*) from slots s where s.booking_id is not null and not exists
		     (select 1 from bookings b where b.id = s.booking_id and b.slot_id = s.id and b.status in ('booked','attended','no_show')))`).
		Scan(&res.DoubleBookings); err != nil {
		return res, fmt.Errorf("counting double bookings: %w", err)
	}
	fmt.Fprintf(out, "double bookings found: %d\n", res.DoubleBookings)

	return res, nil
}

// Pgbench runs pgbench's built-in TPC-B-like script on a scratch database
// of the same server with the same clients and duration, and fills in the
// comparison. Run it after closing the measured pool: both need
// connections.
func (r *Result) Pgbench(ctx context.Context, url string, clients int, d time.Duration, out io.Writer) error {
	if _, err := exec.LookPath("pgbench"); err != nil {
		fmt.Fprintln(out, "pgbench: not installed, skipped")
		return nil
	}
	tps, err := pgbench(ctx, url, clients, d)
	if err != nil {
		return err
	}
	ratio := r.CommitsPerS / tps
	r.PgbenchTPS, r.RatioToPgbench = &tps, &ratio
	fmt.Fprintf(out, "pgbench (tpcb-like, %d clients, %s): %.0f tps; ratio %.2f\n", clients, d, tps, ratio)
	return nil
}

// Print writes the result as the one JSON line that ends the report.
func (r Result) Print(out io.Writer) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(line))
	return err
}

func unusedPrescriptions(ctx context.Context, db *pgxpool.Pool, limit int) ([]patient, error) {
	rows, err := db.Query(ctx, `select p.nre, p.birth_date from prescriptions p
		where p.priority <> 'U' and not exists (select 1 from bookings b where b.prescription_nre = p.nre)
		limit $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("loading prescriptions: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (patient, error) {
		var p patient
		return p, r.Scan(&p.nre, &p.birth)
	})
	if err != nil {
		return nil, fmt.Errorf("loading prescriptions: %w", err)
	}
	// Shuffle so lookups spread over services, deterministically.
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps, nil
}

func contend(ctx context.Context, svc *booking.Service, patients []patient, opts Options) (commits, conflicts int64, err error) {
	var next atomic.Int64
	var nCommits, nConflicts atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(opts.Duration)
	var wg sync.WaitGroup
	for range opts.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := next.Add(1) - 1
				if int(i) >= len(patients) {
					return
				}
				ok, lost, err := bookFirst(ctx, svc, patients[i])
				nConflicts.Add(lost)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if ok {
					nCommits.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return nCommits.Load(), nConflicts.Load(), firstErr
}

// bookFirst books the earliest slot it can hold among the first few
// offered, as a caller accepting the first offer would.
func bookFirst(ctx context.Context, svc *booking.Service, p patient) (booked bool, lost int64, err error) {
	av, err := svc.Availability(ctx, p.nre, p.birth, booking.ChannelAgent, 8)
	if err != nil {
		if errors.Is(err, booking.ErrPrescriptionUsed) {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("availability: %w", err)
	}
	for _, s := range av.Slots {
		h, err := svc.Hold(ctx, s.ID)
		if errors.Is(err, booking.ErrSlotTaken) {
			lost++
			continue
		}
		if err != nil {
			return false, lost, fmt.Errorf("hold: %w", err)
		}
		_, err = svc.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: p.nre, BirthDate: p.birth, Channel: booking.ChannelAgent})
		if err != nil {
			return false, lost, fmt.Errorf("book: %w", err)
		}
		return true, lost, nil
	}
	return false, lost, nil
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func pgbench(ctx context.Context, url string, clients int, d time.Duration) (float64, error) {
	init := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", "10", url)
	if outp, err := init.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pgbench -i: %w: %s", err, outp)
	}
	jobs := "2"
	run := exec.CommandContext(ctx, "pgbench", "-n", "-c", strconv.Itoa(clients), "-j", jobs,
		"-T", strconv.Itoa(int(d.Seconds())), url)
	outp, err := run.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, outp)
	}
	m := tpsLine.FindSubmatch(outp)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in output: %s", outp)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Package bench measures the numero verde from the caller's side: one
// simulated citizen who knows the menus books the first slot offered, on
// the real Asterisk with the shipped prompts, and the time from answer to
// the booking confirmed and the keys pressed are reported.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/booking/seed"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/recall"
)

// Result is the benchmark's last line.
type Result struct {
	SecondsToBooking float64 `json:"seconds_to_booking"`
	Keypresses       int     `json:"keypresses"`
}

// Prepare seeds the bench database with a small region when it has none,
// and renders the prompts for its service and site names into promptDir
// (which the Asterisk sandbox loads), so that the call plays what a real
// one would.
func Prepare(ctx context.Context, db *pgxpool.Pool, promptDir, studioDir string, log *slog.Logger) error {
	var slots int64
	if err := db.QueryRow(ctx, "select count(*) from slots").Scan(&slots); err != nil {
		return fmt.Errorf("counting slots: %w", err)
	}
	if slots < 10_000 {
		rep, err := seed.Run(ctx, db, seed.Options{Scale: "small", Start: time.Now(), Seed: 1, Reset: true}, log)
		if err != nil {
			return err
		}
		log.Info("bench region seeded", "slots", rep.Slots)
	}
	cat, err := ivr.CatalogueWithNames(ctx, booking.NewService(db, booking.Options{Clock: time.Now, Log: log}))
	if err != nil {
		return err
	}
	_, err = cat.Generate(ctx, promptDir, studioDir, log)
	return err
}

// keyer is the citizen: it waits for each question to start and keys at
// once (the caller knows the menus, and listens to the slot offered).
type keyer struct {
	call *callsim.Call
	next int
	keys int
}

func (k *keyer) answer(ctx context.Context, id, keys string) error {
	i, err := k.call.WaitMedia(ctx, "sound:"+prompts.Dir+"/"+id, k.next)
	if err != nil {
		return err
	}
	k.next = i + 1
	if keys == "" {
		return nil
	}
	k.keys += len(keys)
	return k.call.Key(ctx, keys)
}

// Run places the call and reports. ari is the sandbox's address; the run
// uses its own applications.
func Run(ctx context.Context, db *pgxpool.Pool, ari asterisk.Config, log *slog.Logger, out io.Writer) (Result, error) {
	var res Result
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	hours, err := hours.New(hours.Default())
	if err != nil {
		return res, err
	}
	// The call happens in service hours whenever the bench runs: the
	// clock starts an hour into the next opening and runs at real speed.
	real0 := time.Now()
	base := real0
	if !hours.Open(base) {
		next, _ := hours.NextOpening(base)
		base = next.Add(time.Hour)
	}
	clock := func() time.Time { return base.Add(time.Since(real0)) }

	nre, birth, err := pickPrescription(ctx, db, clock())
	if err != nil {
		return res, err
	}
	bookings := booking.NewService(db, booking.Options{Clock: clock, Log: log})
	app := "bench-ivr-" + uuid.NewString()[:8]
	ivrCfg := ari
	ivrCfg.Application = app
	var stasis ivr.Stasis
	ctl := asterisk.New(ivrCfg, &stasis, prometheus.NewRegistry(), log)
	stasis.Flow = ivr.NewFlow(ivr.DefaultConfig(), ivr.Deps{
		Slots: bookings, Holds: bookings, Bookings: bookings,
		Recalls:  recall.NewService(db, clock, log),
		Operator: ivr.AppQueue{Dialplan: ctl, Context: "cup-operator", Application: ari.Application, Timeout: time.Minute},
		Records:  calls.NewRecords(db),
		Hours:    hours,
		Speaker:  asterisk.Italian{Loc: hours.Location(), PromptDir: prompts.Dir},
		Clock:    clock,
		Log:      log,
	})
	if err := ctl.Start(ctx); err != nil {
		return res, err
	}
	defer ctl.Stop()
	simCfg := ari
	simCfg.Application = app + "-sim"
	sim := callsim.New(simCfg, prometheus.NewRegistry(), log)
	if err := sim.Start(ctx); err != nil {
		return res, err
	}
	defer sim.Stop()

	call, err := sim.Place(ctx, app, "sim-stasis", "3471234567")
	if err != nil {
		return res, err
	}
	defer call.Hangup(context.Background())
	answered := time.Now()
	k := &keyer{call: call}
	steps := []struct{ prompt, keys string }{
		{"menu_principale", "1"},
		{"digita_nre", nre[5:]},
		{"digita_data_nascita", birth.Format("02012006")},
		{"scelta_appuntamento", "1"},
		{"prenotazione_confermata", ""},
	}
	for _, s := range steps {
		if err := k.answer(ctx, s.prompt, s.keys); err != nil {
			return res, fmt.Errorf("at %s: %w", s.prompt, err)
		}
	}
	confirmed := call.Prompts()[k.next-1].At
	// The figure counts only if the booking is really there.
	var number string
	err = db.QueryRow(ctx, "select number from bookings where prescription_nre=$1 and status='booked' and channel='ivr'", nre).Scan(&number)
	if err != nil {
		return res, fmt.Errorf("the booking is not in the database: %w", err)
	}
	res = Result{SecondsToBooking: confirmed.Sub(answered).Seconds(), Keypresses: k.keys}
	fmt.Fprintf(out, "booked %s by the IVR: %.1f s from answer to \"prenotazione confermata\", %d keys\n", number, res.SecondsToBooking, res.Keypresses)
	fmt.Fprintf(out, "prompts heard: %s\n", strings.Join(catalogue(call.Heard()), " "))
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	return res, nil
}

// pickPrescription finds an unused, self-bookable prescription whose
// service has free slots.
func pickPrescription(ctx context.Context, db *pgxpool.Pool, now time.Time) (string, time.Time, error) {
	var nre string
	var birth time.Time
	err := db.QueryRow(ctx, `select p.nre, p.birth_date from prescriptions p
		where p.priority in ('B','D','P')
		  and not exists (select 1 from bookings b where b.prescription_nre = p.nre)
		  and exists (select 1 from slots s where s.service_code = p.service_code and s.booking_id is null
		              and s.starts_at > $1::timestamptz + interval '1 day')
		order by p.nre limit 1`, now).Scan(&nre, &birth)
	if err != nil {
		return "", time.Time{}, errors.Join(errors.New("no unused prescription in the bench database (run with -prepare)"), err)
	}
	return nre, birth, nil
}

func catalogue(media []string) []string {
	var ids []string
	for _, m := range media {
		if id, ok := strings.CutPrefix(m, "sound:"+prompts.Dir+"/"); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

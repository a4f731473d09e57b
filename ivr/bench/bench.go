// Package bench measures the numero verde from the caller's side: two
// simulated citizens book the first slot offered, on the real Asterisk
// with the shipped prompts, and the time from answer to the booking
// confirmed and the keys pressed are reported. The expert keys each answer
// as soon as its question begins (barge-in), and the slot's 1 as soon as
// the offer takes a key, once the slot has been said; the first-time
// caller keys only once each question has played to its end, two keys a
// second.
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

// Result is the benchmark's last line: how long each citizen took from
// answer to "prenotazione confermata", and the keys one booking takes.
type Result struct {
	ExpertSeconds    float64 `json:"expert_seconds"`
	FirstTimeSeconds float64 `json:"first_time_seconds"`
	Keypresses       int     `json:"keypresses"`
}

// The goals the figures are read against (issue 16).
const (
	goalExpert    = 25 * time.Second
	goalFirstTime = 60 * time.Second
	goalKeys      = 20
)

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
	_, err := ivr.RenderPrompts(ctx, booking.NewService(db, booking.Options{Clock: time.Now, Log: log}), promptDir, studioDir, log)
	return err
}

// citizen is how a simulated caller answers the IVR.
type citizen struct {
	name string
	// listens: keys only once the question has played to its end;
	// otherwise as it begins (for the slot, the choices: the first
	// moment the offer takes a key).
	listens bool
	// every is the time from one key to the next.
	every time.Duration
}

var (
	// expert knows the menus and keys without hesitation.
	expert = citizen{name: "expert", every: callsim.KeyLength + callsim.KeyGap}
	// firstTime has never called: each prompt to its end, then two keys
	// a second.
	firstTime = citizen{name: "first-time caller", listens: true, every: callsim.FirstTimeKeyPeriod}
)

// keyer is one citizen on one call.
type keyer struct {
	citizen
	call *callsim.Call
	next int
	keys int
}

// answer waits for the question id (its start or, for a citizen who
// listens, its end) and keys.
func (k *keyer) answer(ctx context.Context, id, keys string) error {
	media := "sound:" + prompts.Dir + "/" + id
	wait := k.call.WaitMedia
	if k.listens && keys != "" {
		wait = k.call.WaitMediaEnd
	}
	i, err := wait(ctx, media, k.next)
	if err != nil {
		return err
	}
	k.next = i + 1
	if keys == "" {
		return nil
	}
	k.keys += len(keys)
	return k.call.KeyEvery(ctx, keys, k.every)
}

// Run places one call per citizen, the expert's then the first-time
// caller's, and reports. ari is the sandbox's address; the run uses its
// own applications.
func Run(ctx context.Context, db *pgxpool.Pool, ari asterisk.Config, log *slog.Logger, out io.Writer) (Result, error) {
	var res Result
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	hours, err := hours.New(hours.Default())
	if err != nil {
		return res, err
	}
	// The calls happen in service hours whenever the bench runs: the
	// clock starts an hour into the next opening and runs at real speed.
	real0 := time.Now()
	base := real0
	if !hours.Open(base) {
		next, _ := hours.NextOpening(base)
		base = next.Add(time.Hour)
	}
	clock := func() time.Time { return base.Add(time.Since(real0)) }

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

	took := map[string]time.Duration{}
	for _, c := range []citizen{expert, firstTime} {
		d, keys, err := book(ctx, db, sim, app, c, clock(), out)
		if err != nil {
			return res, fmt.Errorf("%s: %w", c.name, err)
		}
		took[c.name] = d
		res.Keypresses = keys // the same steps for both
	}
	res.ExpertSeconds, res.FirstTimeSeconds = tenths(took[expert.name]), tenths(took[firstTime.name])
	fmt.Fprintf(out, "goals: expert ≤ %.0f s %s, first-time caller ≤ %.0f s %s, %d keys %s\n",
		goalExpert.Seconds(), met(took[expert.name] <= goalExpert), goalFirstTime.Seconds(), met(took[firstTime.name] <= goalFirstTime),
		goalKeys, met(res.Keypresses <= goalKeys))
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	return res, nil
}

// tenths is d in seconds to a tenth: the resolution the figure means.
func tenths(d time.Duration) float64 { return d.Round(100 * time.Millisecond).Seconds() }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// book has one citizen book the first slot offered for an unused
// prescription, and returns the time from answer to "prenotazione
// confermata" and the keys pressed, once the booking is in the database.
func book(ctx context.Context, db *pgxpool.Pool, sim *callsim.Simulator, app string, c citizen, now time.Time, out io.Writer) (time.Duration, int, error) {
	nre, birth, err := pickPrescription(ctx, db, now)
	if err != nil {
		return 0, 0, err
	}
	call, err := sim.Place(ctx, app, "sim-stasis", "3471234567")
	if err != nil {
		return 0, 0, err
	}
	defer call.Hangup(context.Background())
	answered := time.Now()
	k := &keyer{citizen: c, call: call}
	steps := []struct{ prompt, keys string }{
		{"menu_principale", "1"},
		{"digita_nre", nre[5:]},
		{"digita_data_nascita", birth.Format("02012006")},
		// The first moment the offer takes a key: the slot has been said.
		{"scelta_appuntamento", "1"},
		{"prenotazione_confermata", ""},
	}
	for _, s := range steps {
		if err := k.answer(ctx, s.prompt, s.keys); err != nil {
			return 0, 0, fmt.Errorf("at %s: %w", s.prompt, err)
		}
	}
	confirmed := call.Prompts()[k.next-1].At
	// The figure counts only if the booking is really there.
	var number string
	err = db.QueryRow(ctx, "select number from bookings where prescription_nre=$1 and status='booked' and channel='ivr'", nre).Scan(&number)
	if err != nil {
		return 0, 0, fmt.Errorf("the booking is not in the database: %w", err)
	}
	took := confirmed.Sub(answered)
	fmt.Fprintf(out, "%s: booked %s by the IVR: %.1f s from answer to \"prenotazione confermata\", %d keys\n", c.name, number, took.Seconds(), k.keys)
	fmt.Fprintf(out, "  prompts heard: %s\n", strings.Join(catalogue(call.Heard()), " "))
	return took, k.keys, nil
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

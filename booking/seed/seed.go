// Package seed builds a realistic region for development, demos, tests and
// benchmarks: Liguria's ASL, hospitals and accredited private facilities, a
// catalogue of common visits and exams with Italian names, agendas and
// slots over a horizon, prescriptions with well-formed NRE and codici
// fiscali, and bookings on a share of the near-term slots. It is
// deterministic: the same options build the same region.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rickar/cal/v2/it"

	"github.com/centralino-cup/centralino/booking"
)

// Options size the region.
type Options struct {
	// Scale: "small" (tests and demo, ~20 k slots), "medium" (~700 k) or
	// "liguria" (~5 M slots, a Liguria-scale agenda).
	Scale string
	// Days is the agenda horizon in calendar days (default 120).
	Days int
	// Start is "now": slots begin the next working day.
	Start time.Time
	// Seed makes the region deterministic.
	Seed int64
	// BookedFraction is the share of slots already booked on the first day;
	// it decays with distance (default 0.6): near-term slots are scarce.
	BookedFraction float64
	// Prescriptions is how many unused prescriptions to create (default
	// by scale).
	Prescriptions int
	// Reset empties the booking tables first; without it a non-empty
	// database is refused.
	Reset bool
}

// Report counts what was built.
type Report struct {
	Services, Sites, Agendas, Slots, Prescriptions, Bookings int64
	Took                                                     time.Duration
}

type scale struct {
	sites, rooms, maxDays, prescriptions int
}

var scales = map[string]scale{
	"small":   {sites: 6, rooms: 1, maxDays: 21, prescriptions: 2_000},
	"medium":  {sites: len(sites), rooms: 1, maxDays: 120, prescriptions: 50_000},
	"liguria": {sites: len(sites), rooms: 4, maxDays: 120, prescriptions: 200_000},
}

// ErrNotEmpty refuses to seed over existing data without Reset.
var ErrNotEmpty = errors.New("database already has booking data (use reset)")

// Run builds the region.
func Run(ctx context.Context, db *pgxpool.Pool, opts Options, log *slog.Logger) (Report, error) {
	began := time.Now()
	sc, ok := scales[opts.Scale]
	if !ok {
		return Report{}, fmt.Errorf("seed: scale %q must be small, medium or liguria", opts.Scale)
	}
	if opts.Days <= 0 {
		opts.Days = 120
	}
	if opts.Days > sc.maxDays {
		opts.Days = sc.maxDays
	}
	if opts.BookedFraction == 0 {
		opts.BookedFraction = 0.6
	}
	if opts.BookedFraction < 0 || opts.BookedFraction > 1 {
		return Report{}, fmt.Errorf("seed: booked fraction %v must be within 0..1", opts.BookedFraction)
	}
	if opts.Prescriptions == 0 {
		opts.Prescriptions = sc.prescriptions
	}
	if opts.Start.IsZero() {
		return Report{}, errors.New("seed: Start is required")
	}
	g := &gen{opts: opts, sc: sc, rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0x63656e7472616c)), numbers: map[string]bool{}}
	var rep Report
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := g.prepare(ctx, tx); err != nil {
			return err
		}
		steps := []struct {
			name string
			fn   func(context.Context, pgx.Tx) (int64, error)
			n    *int64
		}{
			{"services", g.services, &rep.Services},
			{"sites", g.sites, &rep.Sites},
			{"agendas", g.agendas, &rep.Agendas},
			{"slots", g.slots, &rep.Slots},
			{"bookings", g.bookings, &rep.Bookings},
		}
		for _, s := range steps {
			t := time.Now()
			n, err := s.fn(ctx, tx)
			if err != nil {
				return fmt.Errorf("seed %s: %w", s.name, err)
			}
			*s.n = n
			log.Info("seeded", "table", s.name, "rows", n, "took", time.Since(t).Round(time.Millisecond))
		}
		rep.Prescriptions = rep.Bookings + int64(opts.Prescriptions)
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	// Fresh statistics so the planner uses the free-slot index at once.
	if _, err := db.Exec(ctx, "analyze services, sites, agendas, slots, prescriptions, bookings"); err != nil {
		return Report{}, fmt.Errorf("seed: analyze: %w", err)
	}
	rep.Took = time.Since(began)
	return rep, nil
}

type gen struct {
	opts    Options
	sc      scale
	rng     *rand.Rand
	numbers map[string]bool
	nre     int
	// agendas in id order: site index and service.
	agendaIDs []int64
	agendaSvc []service
	agendaRm  []int
}

func (g *gen) prepare(ctx context.Context, tx pgx.Tx) error {
	if g.opts.Reset {
		_, err := tx.Exec(ctx, `truncate bookings, prescriptions, slots, agendas, sites, services restart identity cascade`)
		return err
	}
	var n int
	if err := tx.QueryRow(ctx, "select count(*) from services").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrNotEmpty
	}
	return nil
}

func (g *gen) services(ctx context.Context, tx pgx.Tx) (int64, error) {
	rows := make([][]any, len(services))
	for i, s := range services {
		kind := "visit"
		if s.exam {
			kind = "exam"
		}
		rows[i] = []any{s.code, s.name, s.short, kind, s.minutes}
	}
	return tx.CopyFrom(ctx, pgx.Identifier{"services"}, []string{"code", "name", "short_name", "kind", "duration_minutes"}, pgx.CopyFromRows(rows))
}

func (g *gen) sites(ctx context.Context, tx pgx.Tx) (int64, error) {
	rows := make([][]any, g.sc.sites)
	for i, s := range sites[:g.sc.sites] {
		rows[i] = []any{s.name, s.short, s.address, s.city, s.ownerKind, s.owner}
	}
	return tx.CopyFrom(ctx, pgx.Identifier{"sites"}, []string{"name", "short_name", "address", "city", "owner_kind", "owner_name"}, pgx.CopyFromRows(rows))
}

// offers says whether a site offers a service: hospitals most things, ASL
// clinics visits and simple exams, private facilities imaging.
func offers(s site, svc service) bool {
	switch s.ownerKind {
	case "hospital":
		return true
	case "asl":
		return !svc.exam || strings.HasPrefix(svc.code, "ECG") || strings.HasPrefix(svc.code, "ECO") || svc.code == "SPIRO" || svc.code == "HOLTER"
	default:
		return svc.exam && !strings.HasPrefix(svc.code, "COLON") && svc.code != "EGDS"
	}
}

func (g *gen) agendas(ctx context.Context, tx pgx.Tx) (int64, error) {
	var rows [][]any
	for si, s := range sites[:g.sc.sites] {
		for _, svc := range services {
			if !offers(s, svc) {
				continue
			}
			for room := 1; room <= g.sc.rooms; room++ {
				rows = append(rows, []any{int64(si + 1), svc.code, fmt.Sprintf("%s %s, ambulatorio %d", svc.short, s.short, room)})
				g.agendaSvc = append(g.agendaSvc, svc)
				g.agendaRm = append(g.agendaRm, room)
			}
		}
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"agendas"}, []string{"site_id", "service_code", "name"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, err
	}
	ids, err := tx.Query(ctx, "select id from agendas order by id")
	if err != nil {
		return 0, err
	}
	g.agendaIDs, err = pgx.CollectRows(ids, pgx.RowTo[int64])
	return n, err
}

// workingDays are the service days of the horizon: Monday to Saturday,
// not national holidays, starting the day after Start.
func (g *gen) workingDays() []time.Time {
	start := g.opts.Start.In(booking.Rome)
	var days []time.Time
	for i := 1; i <= g.opts.Days; i++ {
		d := time.Date(start.Year(), start.Month(), start.Day()+i, 0, 0, 0, 0, booking.Rome)
		if d.Weekday() == time.Sunday {
			continue
		}
		if holiday(d) {
			continue
		}
		days = append(days, d)
	}
	return days
}

func holiday(d time.Time) bool {
	for _, h := range it.Holidays {
		a, _ := h.Calc(d.Year())
		if a.Month() == d.Month() && a.Day() == d.Day() {
			return true
		}
	}
	return false
}

// sessions are an agenda's opening times on a day, in minutes from
// midnight: mornings for all, afternoons for odd rooms, Saturday mornings
// for imaging only.
func sessions(svc service, room int, wd time.Weekday) [][2]int {
	if wd == time.Saturday {
		if svc.exam && (strings.HasPrefix(svc.code, "RX") || strings.HasPrefix(svc.code, "TC") || strings.HasPrefix(svc.code, "RM")) {
			return [][2]int{{8 * 60, 13 * 60}}
		}
		return nil
	}
	s := [][2]int{{8 * 60, 13 * 60}}
	if room%2 == 1 {
		s = append(s, [2]int{14 * 60, 17 * 60})
	}
	return s
}

func (g *gen) slots(ctx context.Context, tx pgx.Tx) (int64, error) {
	days := g.workingDays()
	a, d, sess, minute := 0, 0, 0, -1
	var cur [][2]int
	src := pgx.CopyFromFunc(func() ([]any, error) {
		for a < len(g.agendaIDs) {
			svc := g.agendaSvc[a]
			if d >= len(days) {
				a, d, sess, minute, cur = a+1, 0, 0, -1, nil
				continue
			}
			if minute < 0 {
				cur = sessions(svc, g.agendaRm[a], days[d].Weekday())
				sess, minute = 0, 0
				if len(cur) > 0 {
					minute = cur[0][0]
				}
			}
			if sess >= len(cur) {
				d, minute = d+1, -1
				continue
			}
			if minute+svc.minutes > cur[sess][1] {
				sess++
				if sess < len(cur) {
					minute = cur[sess][0]
				}
				continue
			}
			day := days[d]
			start := time.Date(day.Year(), day.Month(), day.Day(), 0, minute, 0, 0, booking.Rome)
			minute += svc.minutes
			return []any{g.agendaIDs[a], svc.code, start, start.Add(time.Duration(svc.minutes) * time.Minute)}, nil
		}
		return nil, nil
	})
	return tx.CopyFrom(ctx, pgx.Identifier{"slots"}, []string{"agenda_id", "service_code", "starts_at", "ends_at"}, src)
}

// person draws a plausible citizen: codice fiscale (valid check character)
// and birth date.
func (g *gen) person() (string, time.Time) {
	female := g.rng.IntN(2) == 0
	name := maleNames[g.rng.IntN(len(maleNames))]
	if female {
		name = femaleNames[g.rng.IntN(len(femaleNames))]
	}
	surname := surnames[g.rng.IntN(len(surnames))]
	birth := time.Date(1935+g.rng.IntN(70), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC)
	day := birth.Day()
	if female {
		day += 40
	}
	first15 := fmt.Sprintf("%s%s%02d%c%02d%s", surnameCode(surname), nameCode(name), birth.Year()%100,
		"ABCDEHLMPRST"[birth.Month()-1], day, comuni[g.rng.IntN(len(comuni))])
	c, err := booking.FiscalCodeCheckChar(first15)
	if err != nil {
		panic(err) // the generator builds only valid shapes
	}
	return first15 + string(c), birth
}

func split(s string) (cons, vows string) {
	for _, r := range strings.ToUpper(s) {
		switch {
		case strings.ContainsRune("AEIOU", r):
			vows += string(r)
		case r >= 'A' && r <= 'Z':
			cons += string(r)
		}
	}
	return
}

func surnameCode(s string) string {
	c, v := split(s)
	return (c + v + "XXX")[:3]
}

func nameCode(s string) string {
	c, v := split(s)
	if len(c) >= 4 {
		return string([]byte{c[0], c[2], c[3]})
	}
	return (c + v + "XXX")[:3]
}

var priorities = []struct {
	p     string
	share float64
}{{"U", 0.03}, {"B", 0.15}, {"D", 0.37}, {"P", 0.45}}

func (g *gen) priority() string {
	x := g.rng.Float64()
	for _, p := range priorities {
		if x < p.share {
			return p.p
		}
		x -= p.share
	}
	return "P"
}

// nextNRE returns distinct NREs: the counter times a multiplier coprime
// with 10^10 is a permutation of the 10-digit space.
func (g *gen) nextNRE() string {
	g.nre++
	return fmt.Sprintf("070A4%010d", (int64(g.nre)*7_919_083+1_234_567)%10_000_000_000)
}

type rng struct{ r *rand.Rand }

func (r rng) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.UintN(256))
	}
	return len(p), nil
}

func (g *gen) bookingNumber() (string, error) {
	for {
		n, err := booking.NewBookingNumber(rng{g.rng})
		if err != nil {
			return "", err
		}
		if !g.numbers[n] {
			g.numbers[n] = true
			return n, nil
		}
	}
}

func (g *gen) bookings(ctx context.Context, tx pgx.Tx) (int64, error) {
	start := g.opts.Start
	prescribed := start.AddDate(0, 0, -30)
	rows, err := tx.Query(ctx, "select id, service_code, starts_at from slots order by id")
	if err != nil {
		return 0, err
	}
	var presc, books [][]any
	channels := []string{"agent", "web", "counter", "pharmacy"}
	for rows.Next() {
		var id int64
		var code string
		var at time.Time
		if err := rows.Scan(&id, &code, &at); err != nil {
			return 0, err
		}
		days := at.Sub(start).Hours() / 24
		if g.rng.Float64() >= g.opts.BookedFraction*math.Exp(-days/25) {
			continue
		}
		cf, birth := g.person()
		nre := g.nextNRE()
		presc = append(presc, []any{nre, cf, birth, code, g.priority(), prescribed.AddDate(0, 0, g.rng.IntN(30))})
		number, err := g.bookingNumber()
		if err != nil {
			return 0, err
		}
		phone := fmt.Sprintf("+39300%07d", g.rng.IntN(10_000_000)) // 300: a fictitious mobile range
		books = append(books, []any{number, id, nre, cf, birth, phone, channels[g.rng.IntN(len(channels))], "booked", start, start})
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for range g.opts.Prescriptions {
		cf, birth := g.person()
		svc := services[g.rng.IntN(len(services))]
		presc = append(presc, []any{g.nextNRE(), cf, birth, svc.code, g.priority(), prescribed.AddDate(0, 0, g.rng.IntN(30))})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"prescriptions"},
		[]string{"nre", "fiscal_code", "birth_date", "service_code", "priority", "prescribed_on"}, pgx.CopyFromRows(presc)); err != nil {
		return 0, err
	}
	// One set-based update instead of a trigger call per booking; the
	// transaction makes it atomic, and the check below keeps it honest.
	if _, err := tx.Exec(ctx, "alter table bookings disable trigger bookings_sync_slot"); err != nil {
		return 0, err
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"bookings"},
		[]string{"number", "slot_id", "prescription_nre", "fiscal_code", "birth_date", "phone", "channel", "status", "created_at", "updated_at"},
		pgx.CopyFromRows(books))
	if err != nil {
		return 0, err
	}
	// The deferred moved_to check has queued events; run them now so the
	// table can be altered again within this transaction.
	if _, err := tx.Exec(ctx, "set constraints all immediate"); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "alter table bookings enable trigger bookings_sync_slot"); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `update slots s set booking_id = b.id from bookings b
		where b.slot_id = s.id and b.status in ('booked', 'attended', 'no_show')`); err != nil {
		return 0, err
	}
	return n, nil
}

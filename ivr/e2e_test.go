package ivr_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/queue/queuetest"
	"github.com/centralino-cup/centralino/recall"
)

// The flow on the real Asterisk: a simulated citizen calls, listens for
// prompt ids and keys; each test then reads what the stores hold.

var rome, _ = time.LoadLocation("Europe/Rome")

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, rome) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// inRome is a wall-clock time in Rome, as UTC.
func inRome(y int, m time.Month, d, h, min int) time.Time { return at(y, m, d, h, min).UTC() }

// monday10 is in hours: Monday 2 March 2026, 10:00 in Rome.
var monday10 = inRome(2026, 3, 2, 10, 0)

var birth = time.Date(1980, 1, 31, 0, 0, 0, 0, time.UTC)

const birthKeys = "31011980"

type rig struct {
	t     *testing.T
	db    *pgxpool.Pool
	clock *clock
	bk    *booking.Service
	flow  *ivr.Flow
	app   string
	sim   *callsim.Simulator
	ctl   *asterisk.Client
	// live is the controller app_queue hand-offs go through (ctl, once
	// set; a restart replaces it).
	live atomic.Pointer[asterisk.Client]
	nre  int
	// cfg, deps and recalls build a flow with another operator.
	cfg     ivr.Config
	deps    ivr.Deps
	recalls *recall.Service
}

func newRig(t *testing.T, now time.Time) *rig {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	exec(`insert into services values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)`)
	exec(`insert into sites (name, short_name, address, city, owner_kind, owner_name) values
		('Ospedale Policlinico San Martino','Policlinico San Martino','Largo Rosanna Benzi 10','Genova','hospital','IRCCS San Martino'),
		('Poliambulatorio ASL 3 via Archimede','Poliambulatorio Archimede','Via Archimede 30','Genova','asl','ASL 3 Genovese')`)
	exec(`insert into agendas (site_id, service_code, name) values (1,'VCARD','Cardiologia San Martino'), (2,'VCARD','Cardiologia Archimede')`)
	r := &rig{t: t, db: db, clock: &clock{t: now}, app: asteristest.App("t-ivr")}
	log := asteristest.Quiet()
	r.bk = booking.NewService(db, booking.Options{Clock: r.clock.Now, Log: log})
	hours, err := hours.New(hours.Default())
	require.NoError(t, err)
	cfg := ivr.DefaultConfig()
	cfg.MenuTimeout, cfg.InterDigit = 2*time.Second, 2*time.Second
	r.recalls = recall.NewService(db, r.clock.Now, log)
	r.cfg, r.deps = cfg, ivr.Deps{
		Slots: r.bk, Holds: r.bk, Bookings: r.bk,
		Recalls:  r.recalls,
		Operator: ivr.AppQueue{Dialplan: dialplan{r}, Context: "cup-operator", Application: r.app, Timeout: 2 * time.Second},
		Records:  calls.NewRecords(db),
		Hours:    hours,
		Speaker:  asterisk.Italian{Loc: booking.Rome, PromptDir: prompts.Dir},
		Clock:    r.clock.Now,
		Log:      log,
	}
	r.flow = ivr.NewFlow(cfg, r.deps)
	r.controller()
	r.sim = callsim.New(asteristest.Config(t, asteristest.App("t-citizen")), prometheus.NewRegistry(), log)
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, r.sim.Start(sctx))
	t.Cleanup(r.sim.Stop)
	return r
}

// controller starts an IVR controller on the rig's application.
func (r *rig) controller() *asterisk.Client {
	c := asterisk.New(asteristest.Config(r.t, r.app), &ivr.Stasis{Flow: r.flow}, prometheus.NewRegistry(), asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(r.t, c.Start(ctx))
	r.t.Cleanup(c.Stop)
	r.ctl = c
	r.live.Store(c)
	return c
}

// dialplan continues calls through the rig's live controller.
type dialplan struct{ r *rig }

func (d dialplan) ContinueIn(ctx context.Context, channelID, dialContext, exten string, vars map[string]string) error {
	return d.r.live.Load().ContinueIn(ctx, channelID, dialContext, exten, vars)
}

// queueController starts a controller whose operator is centralino's own
// queue on store, wired as cmd/centralino wires it. stop ends it as a
// stopping process does: its calls stay in Asterisk for the next one.
func (r *rig) queueController(store *queue.Store, agents *queue.Service) (c *asterisk.Client, stop func()) {
	var stasis ivr.Stasis
	log := asteristest.Quiet()
	c = asterisk.New(asteristest.Config(r.t, r.app), &stasis, prometheus.NewRegistry(), log)
	op := queue.NewOperator(queue.OperatorConfig{Instance: "ivr-test", Queues: []string{"booking"}, DefaultHandleTime: 30 * time.Second, RecallAfter: time.Hour},
		store, agents, c, r.recalls, r.clock.Now, prometheus.NewRegistry(), log)
	deps := r.deps
	deps.Operator = op
	stasis.Flow = ivr.NewFlow(r.cfg, deps)
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	require.NoError(r.t, op.Start(sctx))
	require.NoError(r.t, c.Start(sctx))
	stop = func() { c.Stop(); op.Stop() }
	r.t.Cleanup(stop)
	return c, stop
}

// slot adds a VCARD slot on site 1 or 2 at the given time.
func (r *rig) slot(site int, at time.Time) int64 {
	var id int64
	require.NoError(r.t, r.db.QueryRow(context.Background(),
		`insert into slots (agenda_id, service_code, starts_at, ends_at) values ($1,'VCARD',$2,$3) returning id`,
		site, at, at.Add(20*time.Minute)).Scan(&id))
	return id
}

// prescription adds a VCARD prescription and returns the 10 digits a
// caller keys (the NRE without the regional prefix).
func (r *rig) prescription(p booking.Priority) string {
	r.nre++
	digits := fmt.Sprintf("%010d", 4_000_000_000+r.nre)
	_, err := r.db.Exec(context.Background(), `insert into prescriptions values ($1,'RSSMRA80A31D969X',$2,'VCARD',$3,$4)`,
		"070A4"+digits, birth, string(p), r.clock.Now().AddDate(0, 0, -3))
	require.NoError(r.t, err)
	return digits
}

// lastPrescription is the digits of the last prescription added.
func (r *rig) lastPrescription() string { return fmt.Sprintf("%010d", 4_000_000_000+r.nre) }

// booked books a slot for a new prescription, as another channel would.
func (r *rig) booked(slot int64) booking.Booking {
	ctx := context.Background()
	h, err := r.bk.Hold(ctx, slot)
	require.NoError(r.t, err)
	b, err := r.bk.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: "070A4" + r.prescription(booking.PriorityD),
		BirthDate: birth, Channel: booking.ChannelAgent})
	require.NoError(r.t, err)
	return b
}

// record is a call's row.
type record struct {
	Outcome string
	InHours bool
	Path    []string
	Number  *string
	Recall  *int64
	Ended   bool
}

func (r *rig) lastCall() record {
	var rec record
	require.NoError(r.t, r.db.QueryRow(context.Background(), `select outcome::text, in_hours, menu_path, booking_number, recall_id, ended_at is not null
		from calls order by started_at desc limit 1`).Scan(&rec.Outcome, &rec.InHours, &rec.Path, &rec.Number, &rec.Recall, &rec.Ended))
	return rec
}

// waitRecord polls until the call's record is ended (the flow ends it
// right after the hang-up).
func (r *rig) waitRecord() record {
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := r.lastCall()
		if rec.Ended || time.Now().After(deadline) {
			return rec
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *rig) count(sql string, args ...any) int {
	var n int
	require.NoError(r.t, r.db.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// citizen is one simulated caller.
type citizen struct {
	r    *rig
	c    *callsim.Call
	next int
}

func (r *rig) call(callerID string) *citizen {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := r.sim.Place(ctx, r.app, "sim-stasis", callerID)
	require.NoError(r.t, err)
	r.t.Cleanup(func() {
		// The call ends before the controllers stop: an application torn
		// down under a call that left it for the dialplan has hung
		// Asterisk 22's ARI in the sandbox.
		c.Hangup(context.Background())
		select {
		case <-c.Ended():
		case <-time.After(5 * time.Second):
		}
	})
	return &citizen{r: r, c: c}
}

// hear waits for each catalogue prompt in order (other media between them,
// digits and dates, are skipped).
func (c *citizen) hear(ids ...string) {
	c.r.t.Helper()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		i, err := c.c.WaitMedia(ctx, "sound:"+prompts.Dir+"/"+id, c.next)
		cancel()
		require.NoError(c.r.t, err, "waiting for %s", id)
		c.next = i + 1
	}
}

// media waits for one exact media URI (digits, dates).
func (c *citizen) media(uri string) {
	c.r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	i, err := c.c.WaitMedia(ctx, uri, c.next)
	require.NoError(c.r.t, err)
	c.next = i + 1
}

func (c *citizen) key(keys string) {
	c.r.t.Helper()
	require.NoError(c.r.t, c.c.Key(context.Background(), keys))
}

// ask waits for a question and answers it.
func (c *citizen) ask(id, keys string) {
	c.r.t.Helper()
	c.hear(id)
	c.key(keys)
}

// hungUp waits until the IVR hangs up.
func (c *citizen) hungUp() {
	c.r.t.Helper()
	select {
	case <-c.c.Ended():
	case <-time.After(40 * time.Second):
		c.r.t.Fatalf("the IVR did not hang up (heard %v)", c.c.Heard())
	}
}

// catalogue returns the catalogue prompts heard, in order.
func (c *citizen) catalogue() []string {
	var ids []string
	for _, m := range c.c.Heard() {
		if id, ok := strings.CutPrefix(m, "sound:"+prompts.Dir+"/"); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// said waits for an appointment said in full: the service (when not ""),
// weekday, day, month and hour, and the place.
func (c *citizen) said(service string, at time.Time, site int64) {
	c.r.t.Helper()
	if service != "" {
		c.hear(prompts.ServiceID(service))
	}
	for _, m := range c.r.deps.Speaker.DateTime(at) {
		c.media(m)
	}
	c.hear("presso", prompts.SiteID(site))
}

// noFailedTry checks that the call had no timeout and no invalid key.
func (c *citizen) noFailedTry() {
	c.r.t.Helper()
	require.NotContains(c.r.t, c.catalogue(), "nessuna_scelta")
	require.NotContains(c.r.t, c.catalogue(), "scelta_non_valida")
}

func TestBookSecondSlotOffered(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	first := r.slot(1, inRome(2026, 3, 4, 9, 0))
	second := r.slot(2, inRome(2026, 3, 5, 11, 30))
	nre := r.prescription(booking.PriorityD)

	c := r.call("3471234567")
	c.hear("benvenuto")
	c.ask("menu_principale", "1")
	c.ask("digita_nre", nre)
	c.ask("digita_data_nascita", birthKeys)
	c.hear("prestazione_richiesta", "primo_disponibile")
	// Wednesday 4 March at 9: weekday, day, month, hour.
	c.media("sound:digits/day-3")
	c.media("number:4")
	c.media("sound:digits/mon-2")
	c.hear("alle_ore")
	c.media("number:9")
	// While the caller decides, the slot is held.
	c.hear("presso")
	require.Equal(t, 1, r.count("select count(*) from slots where id=$1 and hold_token is not null", first))
	c.ask("scelta_appuntamento", "2")
	c.hear("appuntamento_successivo")
	c.ask("scelta_appuntamento", "1")
	// What was booked is said back before its number.
	c.hear("prenotazione_confermata")
	c.said("VCARD", inRome(2026, 3, 5, 11, 30), 2)
	c.hear("numero_prenotazione")
	var number string
	require.NoError(t, r.db.QueryRow(context.Background(), "select number from bookings where slot_id=$1 and status='booked'", second).Scan(&number))
	c.media("digits:" + number)
	c.hear("ripeto")
	c.media("digits:" + number)
	c.hear("sms_conferma", "arrivederci")
	c.hungUp()

	rec := r.waitRecord()
	require.Equal(t, "self_booked", rec.Outcome)
	require.True(t, rec.InHours)
	require.Equal(t, number, *rec.Number)
	require.Equal(t, []string{"menu:1", "nre", "birth_date", "slot:2", "slot:1"}, rec.Path)
	// The slot passed over is free again, not held.
	require.Equal(t, 0, r.count("select count(*) from slots where id=$1 and (hold_token is not null or booking_id is not null)", first))
	require.Equal(t, 1, r.count("select count(*) from bookings where phone='+393471234567' and channel='ivr'"))
}

// A 1 pressed before the slot has been said in full books nothing: typed
// ahead with the birth date, during "la prestazione richiesta è", during
// the slot's date. None is a failed try; the slot is said to its end, and
// the 1 pressed during the choices books it.
func TestEarlyKeyDoesNotBook(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	at := inRome(2026, 3, 4, 9, 0)
	slot := r.slot(1, at)
	nre := r.prescription(booking.PriorityD)

	c := r.call("3471234567")
	c.ask("menu_principale", "1")
	c.ask("digita_nre", nre)
	c.ask("digita_data_nascita", birthKeys+"1")
	c.ask("prestazione_richiesta", "1")
	c.hear(prompts.ServiceID("VCARD"), "primo_disponibile")
	c.media("sound:digits/day-3") // Wednesday
	c.key("1")
	// The rest of the slot, in full: 4 March at 9, the place.
	c.media("number:4")
	c.media("sound:digits/mon-2")
	c.hear("alle_ore")
	c.media("number:9")
	c.hear("presso", "sede_1", "scelta_appuntamento")
	require.Equal(t, 0, r.count("select count(*) from bookings"), "nothing booked before the choices")
	c.key("1")
	// The booked appointment is said back, in full even to a caller who
	// presses 1 once more.
	c.hear("prenotazione_confermata")
	c.key("1")
	c.said("VCARD", at, 1)
	c.hear("numero_prenotazione", "ripeto", "sms_conferma", "arrivederci")
	c.hungUp()

	c.noFailedTry()
	rec := r.waitRecord()
	require.Equal(t, "self_booked", rec.Outcome)
	require.Equal(t, []string{"menu:1", "nre", "birth_date", "slot:1"}, rec.Path)
	require.Equal(t, 1, r.count("select count(*) from bookings where slot_id=$1 and status='booked'", slot))
}

// A 1 pressed while the booking to cancel is read back, or typed ahead
// with the birth date, cancels nothing; the 1 pressed during the choices
// does, and what was cancelled is said back before the code.
func TestEarlyKeyDoesNotCancel(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	at := inRome(2026, 3, 10, 9, 0)
	b := r.booked(r.slot(1, at))

	c := r.call("3471234567")
	c.ask("menu_principale", "2")
	c.ask("digita_numero_prenotazione", b.Number)
	c.ask("digita_data_nascita", birthKeys+"1")
	c.ask("la_prenotazione_riguarda", "1")
	c.said("VCARD", at, 1)
	c.hear("conferma_disdetta")
	require.Equal(t, 1, r.count("select count(*) from bookings where number=$1 and status='booked'", b.Number), "not cancelled before the choices")
	c.key("1")
	c.hear("disdetta_confermata")
	c.said("VCARD", at, 1)
	c.hear("codice_disdetta")
	var code string
	require.NoError(t, r.db.QueryRow(context.Background(), "select cancellation_code from bookings where number=$1 and status='cancelled'", b.Number).Scan(&code))
	c.media("digits:" + code)
	c.hear("ripeto", "arrivederci")
	c.hungUp()

	c.noFailedTry()
	rec := r.waitRecord()
	require.Equal(t, "self_cancelled", rec.Outcome)
	require.Equal(t, []string{"menu:2", "booking_number", "cancel:1"}, rec.Path)
}

// The move takes no key before the booking to move, then the new slot,
// has been said; the new appointment is said back before its number.
func TestEarlyKeyDoesNotMove(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	old := inRome(2026, 3, 20, 9, 0)
	b := r.booked(r.slot(1, old))
	at := inRome(2026, 3, 3, 9, 0)
	r.slot(2, at)

	c := r.call("3471234567")
	c.ask("menu_principale", "3")
	c.ask("digita_numero_prenotazione", b.Number)
	c.ask("digita_data_nascita", birthKeys)
	c.ask("la_prenotazione_riguarda", "1")
	c.said("VCARD", old, 1)
	c.hear("conferma_spostamento")
	require.Equal(t, 0, r.count("select count(*) from slots where hold_token is not null"), "no slot sought before the choices")
	c.key("1")
	c.ask("primo_disponibile", "1")
	c.said("", at, 2)
	c.hear("scelta_appuntamento")
	require.Equal(t, 1, r.count("select count(*) from bookings where number=$1 and status='booked'", b.Number), "not moved before the choices")
	c.key("1")
	c.hear("spostamento_confermato")
	c.said("VCARD", at, 2)
	c.hear("nuovo_numero_prenotazione", "ripeto", "arrivederci")
	c.hungUp()

	c.noFailedTry()
	rec := r.waitRecord()
	require.Equal(t, "self_moved", rec.Outcome)
	require.Equal(t, []string{"menu:3", "booking_number", "move:1", "slot:1"}, rec.Path)
	require.Equal(t, 1, r.count("select count(*) from bookings where number=$1 and status='moved'", b.Number))
}

// A keyed recall number is confirmed only once it has been read back: a 1
// typed ahead after the # or pressed during the read-back is discarded.
func TestEarlyKeyDoesNotConfirmTheRecallNumber(t *testing.T) {
	t.Parallel()
	r := newRig(t, inRome(2026, 3, 2, 19, 30)) // Monday evening
	c := r.call("3471234567")
	c.ask("offerta_richiamata", "2")
	c.ask("digita_numero_richiamata", "3331234567#1")
	c.hear("numero_digitato")
	c.media("digits:3331234567")
	c.key("1")
	c.hear("conferma_o_ridigita")
	require.Equal(t, 0, r.count("select count(*) from recall_requests"), "not confirmed before the choices")
	c.key("1")
	c.hear("richiamata_da", "arrivederci")
	c.hungUp()

	c.noFailedTry()
	rec := r.waitRecord()
	require.Equal(t, []string{"closed", "offer:2", "recall_number"}, rec.Path)
	require.Equal(t, 1, r.count("select count(*) from recall_requests where id=$1 and phone='+393331234567'", *rec.Recall))
}

func TestBookingRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	r.slot(1, inRome(2026, 3, 4, 9, 0))
	r.booked(r.slot(2, inRome(2026, 3, 4, 10, 0)))
	used := r.lastPrescription() // booked above by an agent

	c := r.call("0102345678") // a landline: no SMS promised
	c.ask("menu_principale", "1")
	// An NRE nobody prescribed.
	c.ask("digita_nre", "9999999999")
	c.ask("digita_data_nascita", birthKeys)
	c.hear("ricetta_non_trovata")
	// The right NRE with a wrong birth date.
	c.ask("digita_nre", used)
	c.ask("digita_data_nascita", "01011990")
	c.hear("data_non_corrisponde")
	// The right pair, but already used: back to the main menu.
	c.ask("digita_nre", used)
	c.ask("digita_data_nascita", birthKeys)
	c.hear("ricetta_gia_usata", "menu_principale")
	c.c.Hangup(context.Background())

	rec := r.waitRecord()
	require.Equal(t, "hung_up", rec.Outcome)
	require.Equal(t, 1, r.count("select count(*) from bookings"), "nothing booked")
	require.Equal(t, 0, r.count("select count(*) from slots where hold_token is not null"))
}

func TestHangUpMidBookingReleasesTheHold(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	slot := r.slot(1, inRome(2026, 3, 4, 9, 0))
	nre := r.prescription(booking.PriorityB)

	c := r.call("3471234567")
	c.ask("menu_principale", "1")
	c.ask("digita_nre", nre)
	c.ask("digita_data_nascita", birthKeys)
	c.hear("scelta_appuntamento")
	require.Equal(t, 1, r.count("select count(*) from slots where id=$1 and hold_token is not null", slot))
	require.NoError(t, c.c.Hangup(context.Background()))

	rec := r.waitRecord()
	require.Equal(t, "hung_up", rec.Outcome)
	require.Equal(t, 0, r.count("select count(*) from slots where id=$1 and hold_token is not null", slot), "hold released")
	require.Equal(t, 0, r.count("select count(*) from bookings"))
}

func TestInvalidKeysThreeTimesGoToTheOperatorThenRecall(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	c := r.call("3471234567")
	c.ask("menu_principale", "9")
	c.hear("scelta_non_valida")
	c.ask("menu_principale", "8")
	c.hear("scelta_non_valida", "menu_principale")
	// The third try times out (nothing pressed).
	c.hear("trasferimento_operatore")
	// Nobody answers in the queue within its timeout: the call comes back
	// and is offered a recall on the calling number.
	c.hear("operatori_non_disponibili")
	c.ask("offerta_richiamata", "1")
	c.hear("richiamata_presto", "arrivederci")
	c.hungUp()

	rec := r.waitRecord()
	require.Equal(t, "recall_requested", rec.Outcome)
	require.NotNil(t, rec.Recall)
	require.Equal(t, []string{"menu:tries", "operator:tries", "queue_exit:timeout", "offer:1"}, rec.Path)
	require.Equal(t, 1, r.count("select count(*) from recall_requests where id=$1 and phone='+393471234567' and reason='wait'", *rec.Recall))
}

func TestTimeoutsCountAsTries(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	c := r.call("3471234567")
	// Three silences are three failed tries: the operator.
	c.hear("menu_principale", "nessuna_scelta", "menu_principale", "nessuna_scelta", "menu_principale")
	c.hear("trasferimento_operatore", "operatori_non_disponibili")
	require.Equal(t, []string{"benvenuto", "menu_principale", "nessuna_scelta", "menu_principale", "nessuna_scelta", "menu_principale", "trasferimento_operatore"},
		c.catalogue()[:7])
}

func TestStarRepeatsTheQuestion(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	c := r.call("3471234567")
	c.ask("menu_principale", "*")
	c.ask("menu_principale", "*")
	c.ask("menu_principale", "*")
	// Three repeats are not three failures: the menu is still asked.
	c.ask("menu_principale", "0")
	c.hear("trasferimento_operatore", "operatori_non_disponibili")
	require.NotContains(t, c.catalogue(), "scelta_non_valida")
}

func TestUrgentPrescriptionGoesToAnOperator(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	r.slot(1, inRome(2026, 3, 2, 15, 0))
	nre := r.prescription(booking.PriorityU)
	c := r.call("3471234567")
	c.ask("menu_principale", "1")
	c.ask("digita_nre", nre)
	c.ask("digita_data_nascita", birthKeys)
	c.hear("ricetta_urgente", "trasferimento_operatore")
	c.hear("operatori_non_disponibili")
	c.c.Hangup(context.Background())
	rec := r.waitRecord()
	require.Contains(t, rec.Path, "urgent")
	require.Contains(t, rec.Path, "operator:urgent")
	require.Equal(t, 0, r.count("select count(*) from bookings"))
}

func TestOperatorAnswersInTheQueue(t *testing.T) {
	// The queue's members are Asterisk-wide: not in parallel with the
	// tests that expect an empty queue.
	r := newRig(t, monday10)
	join := func(action string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := r.sim.Place(ctx, action+"-booking-a1", "sim-queue", "")
		if err == nil {
			c.Hangup(context.Background())
		}
	}
	join("join")
	t.Cleanup(func() { join("leave") })

	c := r.call("3471234567")
	c.ask("menu_principale", "0")
	c.hear("trasferimento_operatore")
	rec := r.waitRecord()
	require.Equal(t, "transferred", rec.Outcome)
	require.Equal(t, 1, r.count("select count(*) from calls where queue_name='booking' and queue_entered_at is not null"))
	// The simulated agent answers after a second and the caller is
	// bridged to them: the call stays up, out of the IVR, past the
	// prompt and the queue's 2-second timeout.
	time.Sleep(8 * time.Second)
	select {
	case <-c.c.Ended():
		t.Fatal("the call ended instead of reaching the agent")
	default:
	}
	require.NotContains(t, c.catalogue(), "operatori_non_disponibili")
}

// A controller restarted while a citizen talks to an agent, after closing
// time: the conversation goes on, neither side hears the IVR, and the
// citizen's hang-up ends it (the agent's phone too) and its record.
func TestConversationOutlivesARestartAfterClosing(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	store, _, _ := queuetest.Store(t)
	agents := queue.NewService(store, queue.Options{Clock: r.clock.Now, Log: asteristest.Quiet()})
	ctx := context.Background()
	require.NoError(t, agents.Login(ctx, "gina", callsim.Agent(time.Second), []string{"booking"}))
	require.NoError(t, agents.Ready(ctx, "gina"))
	r.ctl.Stop()
	// Asterisk 22 destroys an application left with no channel a moment
	// after its websocket closes, and a registration of the same name in
	// that moment is lost with it: the new controller waits until it is
	// gone.
	require.Eventually(t, func() bool { return !asteristest.Has(t, "/applications/"+r.app) }, 5*time.Second, 10*time.Millisecond)
	_, stop := r.queueController(store, agents)

	c := r.call("3471234567")
	c.ask("menu_principale", "0")
	c.hear("trasferimento_operatore")
	agent := func() queue.Agent {
		a, err := store.Agent(ctx, "gina")
		require.NoError(t, err)
		return a
	}
	require.Eventually(t, func() bool { return agent().State == queue.Busy }, 20*time.Second, 50*time.Millisecond)
	info, err := store.Call(ctx, agent().CallID)
	require.NoError(t, err)
	heard := len(c.c.Heard())

	stop()
	r.clock.Set(inRome(2026, 3, 2, 19, 0)) // closed
	ctl, _ := r.queueController(store, agents)
	time.Sleep(2 * time.Second) // the new controller has taken the calls over
	select {
	case <-c.c.Ended():
		t.Fatal("the restart hung up on the citizen")
	default:
	}
	require.Len(t, c.c.Heard(), heard, "the citizen heard the IVR again")
	require.Equal(t, queue.Busy, agent().State, "the agent's leg was not greeted or hung up")

	require.NoError(t, c.c.Hangup(ctx))
	require.Eventually(t, func() bool { return agent().State == queue.WrapUp }, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		up, err := ctl.ChannelUp(ctx, info.Talk.AgentChannel)
		return err == nil && !up
	}, 10*time.Second, 50*time.Millisecond, "the agent's phone was hung up")
	rec := r.waitRecord()
	require.True(t, rec.Ended)
	require.Equal(t, "agent_answered", rec.Outcome)
	require.Contains(t, rec.Path, "recovered")
}

// The records of calls whose caller hung up while no controller was there
// are ended as hung up; a live call's record stays open.
func TestCloseGoneEndsOnlyCallsGone(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	c := r.call("3471234567")
	c.hear("menu_principale") // live: its record is open
	records := calls.NewRecords(r.db)
	ctx := context.Background()
	gone := asteristest.App("gone") // no such channel
	_, err := records.Start(ctx, calls.Arrival{ChannelID: gone, Inbound: true, DID: "800466222", InHours: true}, monday10)
	require.NoError(t, err)
	require.Equal(t, 2, r.count("select count(*) from calls where ended_at is null"))

	n, err := records.CloseGone(ctx, monday10.Add(time.Minute), monday10.Add(time.Second), r.ctl.ChannelUp)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 1, r.count("select count(*) from calls where channel_id = $1 and outcome = 'hung_up' and ended_at is not null", gone))
	require.Equal(t, 1, r.count("select count(*) from calls where ended_at is null"), "the live call's record stays open")
}

func TestCancelReadsTheCancellationCode(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	slot := r.slot(1, inRome(2026, 3, 10, 9, 0))
	b := r.booked(slot)
	// The citizen had asked for a recall, and so had someone else.
	ctx := context.Background()
	pending, err := r.recalls.Request(ctx, recall.Request{Phone: "+393471234567", Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	other, err := r.recalls.Request(ctx, recall.Request{Phone: "+393479999999", Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)

	c := r.call("3471234567")
	c.ask("menu_principale", "2")
	// A mistyped number (wrong check digit) is refused before any lookup.
	wrong := b.Number[:11] + fmt.Sprint((int(b.Number[11]-'0')+1)%10)
	c.ask("digita_numero_prenotazione", wrong)
	c.hear("numero_prenotazione_errato")
	c.ask("digita_numero_prenotazione", b.Number)
	c.ask("digita_data_nascita", birthKeys)
	c.hear("la_prenotazione_riguarda")
	c.ask("conferma_disdetta", "1")
	c.hear("disdetta_confermata")
	var code string
	require.NoError(t, r.db.QueryRow(context.Background(), "select cancellation_code from bookings where number=$1 and status='cancelled'", b.Number).Scan(&code))
	c.media("digits:" + code)
	c.hear("ripeto", "arrivederci")
	c.hungUp()

	rec := r.waitRecord()
	require.Equal(t, "self_cancelled", rec.Outcome)
	require.Equal(t, 0, r.count("select count(*) from slots where id=$1 and booking_id is not null", slot), "slot freed")
	// Served by this call: the citizen's recall is closed, nobody else's.
	require.Eventually(t, func() bool {
		return r.count("select count(*) from recall_requests where id=$1 and status='served_inbound'", pending.ID) == 1
	}, 5*time.Second, 50*time.Millisecond)
	require.Equal(t, 1, r.count("select count(*) from recall_requests where id=$1 and status='pending'", other.ID))
}

// A citizen who cannot identify the booking three times is handed to the
// queue that serves what it asked for: cancellations to "cancellation",
// moves to "booking" (a move books a new slot: the booking desk's work).
func TestFailedIdentificationGoesToItsQueue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, choice, queue string
	}{
		{"cancel", "2", "cancellation"},
		{"move", "3", "booking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, monday10)
			b := r.booked(r.slot(1, inRome(2026, 3, 10, 9, 0)))
			c := r.call("3471234567")
			c.ask("menu_principale", tc.choice)
			for range 3 {
				c.ask("digita_numero_prenotazione", b.Number)
				c.ask("digita_data_nascita", "01011970") // not the citizen's
				c.hear("data_non_corrisponde_prenotazione")
			}
			c.hear("trasferimento_operatore")
			c.hear("operatori_non_disponibili")
			require.NoError(t, c.c.Hangup(context.Background()))
			r.waitRecord()
			var queue string
			require.NoError(t, r.db.QueryRow(context.Background(), "select queue_name from calls order by started_at desc limit 1").Scan(&queue))
			require.Equal(t, tc.queue, queue)
			require.Equal(t, 1, r.count("select count(*) from bookings where number=$1 and status='booked'", b.Number), "the booking is untouched")
		})
	}
}

func TestMoveIsAtomic(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	old := r.slot(1, inRome(2026, 3, 20, 9, 0))
	b := r.booked(old)
	earliest := r.slot(2, inRome(2026, 3, 3, 9, 0))
	later := r.slot(2, inRome(2026, 3, 6, 9, 0))

	c := r.call("3471234567")
	c.ask("menu_principale", "3")
	c.ask("digita_numero_prenotazione", b.Number)
	c.ask("digita_data_nascita", birthKeys)
	c.ask("conferma_spostamento", "1")
	c.hear("primo_disponibile")
	c.media("sound:digits/day-2") // Tuesday 3 March
	c.ask("scelta_appuntamento", "1")
	c.hear("spostamento_confermato")
	c.hear("arrivederci")
	c.hungUp()

	rec := r.waitRecord()
	require.Equal(t, "self_moved", rec.Outcome)
	require.Equal(t, 1, r.count("select count(*) from bookings where number=$1 and status='moved'", b.Number))
	require.Equal(t, 0, r.count("select count(*) from slots where id=$1 and booking_id is not null", old), "old slot freed")
	require.Equal(t, 1, r.count("select count(*) from bookings where slot_id=$1 and status='booked' and number=$2", earliest, *rec.Number))
	require.Equal(t, 0, r.count("select count(*) from slots where id=$1 and booking_id is not null", later))
}

func TestOutOfHoursRecallOnTheCallingNumber(t *testing.T) {
	t.Parallel()
	// Saturday 14:00: closed until Monday 08:00.
	r := newRig(t, inRome(2026, 3, 7, 14, 0))
	c := r.call("3471234567")
	c.hear("benvenuto", "servizio_chiuso", "riapertura")
	c.media("sound:digits/day-1")
	c.ask("offerta_richiamata", "1")
	c.hear("richiamata_da", "arrivederci")
	c.hungUp()

	rec := r.waitRecord()
	require.Equal(t, "out_of_hours_recall", rec.Outcome)
	require.False(t, rec.InHours)
	var notBefore time.Time
	require.NoError(t, r.db.QueryRow(context.Background(), "select not_before from recall_requests where id=$1 and phone='+393471234567' and reason='out_of_hours'", *rec.Recall).Scan(&notBefore))
	require.True(t, notBefore.Equal(inRome(2026, 3, 9, 8, 0)), "recall from the next opening, got %s", notBefore)
}

func TestOutOfHoursRecallOnAKeyedNumber(t *testing.T) {
	t.Parallel()
	r := newRig(t, inRome(2026, 3, 2, 19, 30)) // Monday evening
	c := r.call("3471234567")
	c.ask("offerta_richiamata", "2")
	// A number too short is refused; then a good one, read back.
	c.ask("digita_numero_richiamata", "12#")
	c.hear("numero_non_valido")
	c.ask("digita_numero_richiamata", "3331234567#")
	c.hear("numero_digitato")
	c.media("digits:3331234567")
	c.ask("conferma_o_ridigita", "1")
	c.hear("richiamata_da", "arrivederci")
	c.hungUp()
	rec := r.waitRecord()
	require.Equal(t, 1, r.count("select count(*) from recall_requests where id=$1 and phone='+393331234567'", *rec.Recall))
}

func TestOutOfHoursWithCallerIDWithheld(t *testing.T) {
	t.Parallel()
	r := newRig(t, inRome(2026, 3, 8, 11, 0)) // Sunday
	c := r.call("anonymous")
	c.hear("servizio_chiuso")
	// Only "key another number" is offered; 1 is not valid.
	c.ask("offerta_richiamata_altro_numero", "1")
	c.hear("scelta_non_valida")
	c.ask("offerta_richiamata_altro_numero", "2")
	c.ask("digita_numero_richiamata", "0102345678#")
	c.ask("conferma_o_ridigita", "1")
	c.hear("richiamata_da")
	c.hungUp()
	require.NotContains(t, c.catalogue(), "offerta_richiamata")
	rec := r.waitRecord()
	require.Equal(t, 1, r.count("select count(*) from recall_requests where id=$1 and phone='+390102345678'", *rec.Recall))
}

func TestClockAcrossClosingAndAHoliday(t *testing.T) {
	t.Parallel()
	r := newRig(t, inRome(2026, 3, 6, 17, 59)) // Friday, a minute before closing
	c := r.call("3471234567")
	c.hear("menu_principale")
	c.c.Hangup(context.Background())
	require.True(t, r.waitRecord().InHours)

	r.clock.Set(inRome(2026, 3, 6, 18, 0))
	c = r.call("3471234567")
	c.hear("servizio_chiuso")
	c.c.Hangup(context.Background())
	require.False(t, r.waitRecord().InHours)

	// Tuesday 8 December 2026, Immacolata: closed at 10:00, reopening
	// Wednesday 9 at 8.
	r.clock.Set(inRome(2026, 12, 8, 10, 0))
	c = r.call("3471234567")
	c.hear("servizio_chiuso", "riapertura")
	c.media("sound:digits/day-3")
	c.media("number:9")
	c.media("sound:digits/mon-11")
	c.c.Hangup(context.Background())
	require.False(t, r.waitRecord().InHours)
}

func TestRecoveredCallIsGreetedAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t, monday10)
	c := r.call("3471234567")
	c.hear("menu_principale")
	// The controller stops with the call in Stasis (as when killed); the
	// call waits in Asterisk and a new controller greets it again.
	r.ctl.Stop()
	r.controller()
	c.hear("benvenuto", "menu_principale")
	// And served to the end: to the operator queue, back when nobody
	// answers, a recall accepted.
	c.key("0")
	c.hear("trasferimento_operatore", "operatori_non_disponibili")
	c.ask("offerta_richiamata", "1")
	c.hear("richiamata_presto", "arrivederci")
	c.hungUp()
	rec := r.waitRecord()
	require.Equal(t, "recall_requested", rec.Outcome)
	require.Equal(t, []string{"recovered", "menu:0", "operator:asked", "queue_exit:timeout", "offer:1"}, rec.Path)
	require.Equal(t, 1, r.count("select count(*) from calls"), "the same call record")
}

package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/prompts"
)

// pagesRedis is the Redis database of the pages' tests: no other test
// uses it (app's others use 15, the recall's kill test 13, the rest 0).
const pagesRedis = "redis://127.0.0.1:6379/12"

// pagesConfig is testConfig on the pages' Redis database, with a session
// key (shared by the instances of a test, and across a restart).
func pagesConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.Redis.URL = pagesRedis
	cfg.Auth.SessionKey = base64.StdEncoding.EncodeToString([]byte("the pages' tests' session key, 32+ bytes"))
	return cfg
}

// monday10 is a clock at Monday 2 March 2026, 10:00 in Rome (in service
// hours) whenever the test runs; time runs on.
func monday10(t *testing.T) func() time.Time {
	rome, err := time.LoadLocation("Europe/Rome")
	require.NoError(t, err)
	offset := time.Date(2026, 3, 2, 10, 0, 0, 0, rome).Sub(time.Now())
	return func() time.Time { return time.Now().Add(offset) }
}

// rdb is a client of the pages' Redis database.
func rdb(t *testing.T) *redis.Client {
	opts, err := redis.ParseURL(pagesRedis)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// ringing reports, on the channel, when Asterisk first has a channel of
// the endpoint (the agent's phone ringing), asking ARI every 20 ms.
func ringing(ari asterisk.Config, endpoint string, within time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	go func() {
		defer close(out)
		client := &http.Client{Timeout: time.Second}
		for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			req, _ := http.NewRequest("GET", ari.URL+"/channels", nil)
			req.SetBasicAuth(ari.User, ari.Password)
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			var chans []struct{ Name string }
			err = json.NewDecoder(resp.Body).Decode(&chans)
			resp.Body.Close()
			for _, c := range chans {
				if err == nil && strings.HasPrefix(c.Name, endpoint) {
					out <- time.Now()
					return
				}
			}
		}
	}()
	return out
}

// The agent desktop and the wallboard on a real call, as an agent and a
// manager see them: the agent signs in and enters the queues; a citizen
// keys an NRE and then 0 at the slot offer; the wallboard counts the
// caller waiting within a second; the agent goes ready, and the screen-pop
// shows the prescription's service within a second of the agent's phone
// ringing, while the wallboard shows the agent ringing; the agent reveals
// the number (logged, masked), books the first slot from the page, reads
// the booking number, and the booking is in PostgreSQL on the agent's
// channel; the caller hangs up and the desk counts the wrap-up down.
func TestDeskAndWallboardOnARealCall(t *testing.T) {
	cfg := pagesConfig(t) // skips without the sandbox, outside make test
	open := browser(t)
	now := monday10(t)
	cfg.Queue.Instance = cfg.ARI.Application
	d := runDaemonAt(t, cfg, now)
	d.exec(t, `insert into services values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)`)
	d.exec(t, `insert into sites (name, short_name, address, city, owner_kind, owner_name) values
		('Ospedale Policlinico San Martino','Policlinico San Martino','Largo Rosanna Benzi 10','Genova','hospital','IRCCS San Martino'),
		('Poliambulatorio ASL 3 via Archimede','Poliambulatorio Archimede','Via Archimede 30','Genova','asl','ASL 3 Genovese')`)
	d.exec(t, `insert into agendas (site_id, service_code, name) values (1,'VCARD','Cardiologia San Martino'), (2,'VCARD','Cardiologia Archimede')`)
	rome, _ := time.LoadLocation("Europe/Rome")
	first, second := time.Date(2026, 3, 4, 9, 0, 0, 0, rome), time.Date(2026, 3, 5, 11, 30, 0, 0, rome)
	d.exec(t, `insert into slots (agenda_id, service_code, starts_at, ends_at) values (1,'VCARD',$1,$2), (2,'VCARD',$3,$4)`,
		first, first.Add(20*time.Minute), second, second.Add(20*time.Minute))
	d.exec(t, `insert into prescriptions values ('070A44000000001','RSSMRA80A31D969X','1980-01-31','VCARD','D','2026-02-27')`)
	red := rdb(t)

	desk, board := open("desk"), open("wallboard")
	desk.login(d.base, "bruno", "/desk")
	desk.waitFor("#state-label", "Non in servizio", 5*time.Second)
	desk.click("#login-queues")
	desk.waitFor("#state-label", "In pausa", 3*time.Second)
	board.login(d.base, "maria", "/wallboard")
	board.waitFor(`tr[data-agent="bruno"] .state`, "In pausa", 3*time.Second)
	board.waitFor("#waiting-booking", "0", 3*time.Second)

	// The citizen: 1, the NRE, the birth date, then 0 once the slot is said.
	sim := callsim.New(asteristest.Config(t, asteristest.App("t-citizen")), prometheus.NewRegistry(), asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	require.NoError(t, sim.Start(ctx))
	defer sim.Stop()
	c, err := sim.Place(ctx, cfg.ARI.Application, "sim-stasis", "3471234567")
	require.NoError(t, err)
	defer c.Hangup(context.Background())
	next := 0
	ask := func(prompt, keys string) {
		t.Helper()
		i, err := c.WaitMedia(ctx, prompts.Sound(prompt), next)
		require.NoError(t, err, "waiting for %s (heard %v)", prompt, c.Heard())
		next = i + 1
		if keys != "" {
			require.NoError(t, c.Key(ctx, keys))
		}
	}
	ask("menu_principale", "1")
	ask("digita_nre", "4000000001")
	ask("digita_data_nascita", "31011980")
	ask("scelta_appuntamento", "0")
	ask("trasferimento_operatore", "")

	// Waiting: on the wallboard within a second of entering the queue.
	entered := waitRedis(t, func() bool { return red.ZCard(ctx, "centralino:waiting:booking").Val() == 1 }, 20*time.Second)
	shown := board.waitFor("#waiting-booking", "1", 3*time.Second)
	require.Less(t, shown.Sub(entered), time.Second, "the wallboard's waiting count")
	board.shot("caller-waiting")

	// Ready: the agent's phone rings; the screen-pop shows the service.
	rang := ringing(asteristest.Config(t, ""), "Local/a3@sim-agents", 20*time.Second)
	desk.click("#ready")
	popped := desk.waitFor("#service", "Visita cardiologica", 10*time.Second)
	ring, ok := <-rang
	require.True(t, ok, "the agent's phone did not ring")
	require.Less(t, popped.Sub(ring), time.Second, "the screen-pop within a second of the ring")
	t.Logf("screen-pop %s after the ring", popped.Sub(ring).Round(time.Millisecond))
	require.Contains(t, desk.text("#call-body"), "NRE 070A44000000001")
	require.Contains(t, desk.text("#call-body"), "D — differibile")
	require.Contains(t, desk.text("#call-body"), "+39347*****67", "the number masked")
	require.Equal(t, "070A44000000001", jsValue(desk, "#nre"), "the booking form holds the NRE keyed")
	desk.shot("screen-pop")
	// The wallboard: the caller is no longer waiting, the agent rings.
	ringingAt := waitRedis(t, func() bool { return red.HGet(ctx, "centralino:agent:bruno", "state").Val() == "ringing" }, 5*time.Second)
	shown = board.waitFor(`tr[data-agent="bruno"] .state`, "Squilla", 3*time.Second)
	require.Less(t, shown.Sub(ringingAt), time.Second, "the wallboard's agent state")
	board.waitFor("#waiting-booking", "0", time.Second)
	board.shot("agent-ringing")

	// The phone answers after 3 s: talking. The number, on a click.
	desk.waitFor("#call-title", "In conversazione", 10*time.Second)
	board.waitFor(`tr[data-agent="bruno"] .state`, "In conversazione", 2*time.Second)
	desk.click("#reveal")
	desk.waitFor("#caller", "+393471234567", 3*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(d.log.String(), "caller's number revealed") }, 3*time.Second, 20*time.Millisecond)
	require.Contains(t, d.log.String(), "agent=bruno")
	require.NotContains(t, d.log.String(), "3471234567", "the number is never logged in clear")

	// Booking the first slot from the page.
	desk.do(chromedp.SendKeys(chromedp.CSS("#birth"), "31/01/1980\r"))
	desk.waitFor("#booking-body", "Visita cardiologica", 5*time.Second)
	require.Contains(t, desk.text("#booking-body"), "mercoledì 4 marzo 2026 alle 09:00 — Policlinico San Martino")
	desk.click(".slot-hold")
	desk.waitFor("#held-slot", "mercoledì 4 marzo 2026 alle 09:00", 3*time.Second)
	desk.click("#confirm")
	desk.waitFor("#done-title", "Prenotazione confermata", 5*time.Second)
	number := strings.ReplaceAll(desk.text("#booking-number"), " ", "")
	require.Len(t, number, 12)
	desk.shot("booked")
	var channel, status string
	var slotStart time.Time
	require.NoError(t, d.db.QueryRow(ctx, `select b.channel::text, b.status::text, s.starts_at from bookings b join slots s on s.id = b.slot_id
		where b.number = $1 and b.prescription_nre = '070A44000000001'`, number).Scan(&channel, &status, &slotStart))
	require.Equal(t, "agent", channel, "booked with the agent's own credential")
	require.Equal(t, "booked", status)
	require.True(t, slotStart.Equal(first), "the first slot")

	// The citizen hangs up: wrap-up, counted down on the desk.
	require.NoError(t, c.Hangup(ctx))
	desk.waitFor("#state-label", "Post-chiamata", 5*time.Second)
	desk.waitFor("#state-time", "rimangono", 2*time.Second)
	desk.waitFor("#call-title", "Chiamata terminata", 2*time.Second)
	board.waitFor(`tr[data-agent="bruno"] .state`, "Post-chiamata", 2*time.Second)
	desk.shot("wrap-up")
	board.shot("wrap-up")

	// Both fit a 1280×720 screen, and the wallboard a 1920×1080 wall,
	// with no sideways scrolling.
	require.LessOrEqual(t, scrollWidth(desk), 1280)
	require.LessOrEqual(t, scrollWidth(board), 1280)
	board.do(chromedp.EmulateViewport(1920, 1080))
	require.LessOrEqual(t, scrollWidth(board), 1920)
	board.shot("1920x1080")
}

// scrollWidth is how wide the page's content is.
func scrollWidth(p *tab) int {
	var w int
	p.eval(`document.documentElement.scrollWidth`, &w)
	return w
}

// jsValue is an input's value.
func jsValue(p *tab, css string) string {
	var v string
	p.eval(`document.querySelector(`+quote(css)+`).value`, &v)
	return v
}

// waitRedis polls Redis every 10 ms until ok, and returns when it first
// held.
func waitRedis(t *testing.T, ok func() bool, within time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		if ok() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in Redis after %s", within)
		}
	}
}

// runDaemonAt is runDaemon with the daemon's clock.
func runDaemonAt(t *testing.T, cfg config.Config, now func() time.Time) running {
	t.Helper()
	return runDaemonWith(t, cfg, now, true)
}

// A wrong password is refused on the login page, and an agent who opens
// the wallboard is refused it, its stream too.
func TestPagesRefuseWrongPasswordAndRole(t *testing.T) {
	cfg := pagesConfig(t)
	open := browser(t)
	d := runDaemon(t, cfg)
	p := open("refused")
	p.do(chromedp.Navigate(d.base+"/desk"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "bruno"), chromedp.SendKeys(chromedp.CSS("#password"), "not-her-password-0123\r"))
	p.waitFor("#error", "Nome utente o password errati.", 3*time.Second)
	require.Contains(t, p.text("h1"), "Accesso", "still on the login page")
	require.Equal(t, http.StatusSeeOther, p.status("/desk"), "no session: the desk sends to the login page")
	p.shot("wrong-password")

	p.login(d.base, "bruno", "/desk")
	p.do(chromedp.Navigate(d.base + "/wallboard"))
	p.waitFor("#refused", "Accesso negato", 3*time.Second)
	require.Contains(t, p.text("main"), "responsabile")
	require.Equal(t, http.StatusForbidden, p.status("/wallboard"))
	require.Equal(t, http.StatusForbidden, p.status("/wallboard/events"), "nor its stream")
	p.shot("agent-on-wallboard")
}

// An agent's change through instance A shows within a second on the
// wallboard served by instance B (both on the same Redis); B restarted,
// the wallboard says its data are stale, reconnects by itself, and is
// live again.
func TestWallboardAcrossInstancesAndRestart(t *testing.T) {
	cfgA := pagesConfig(t)
	open := browser(t)
	cfgB := cfgA
	cfgB.HTTP.Listen = freePort(t)
	cfgB.ARI.Application = asteristest.App("t-app")
	cfgA.Queue.Instance, cfgB.Queue.Instance = "pages-a", "pages-b"
	a := runDaemon(t, cfgA)
	stopB := startDaemon(t, cfgB)
	baseB := "http://" + cfgB.HTTP.Listen
	red := rdb(t)
	ctx := context.Background()

	desk, board := open("desk-on-a"), open("wallboard-on-b")
	desk.login(a.base, "bruno", "/desk")
	desk.click("#login-queues")
	board.login(baseB, "maria", "/wallboard")
	board.waitFor(`tr[data-agent="bruno"] .state`, "In pausa", 3*time.Second)
	board.waitFor(`#ari li[data-instance="pages-a"]`, "Collegato", 6*time.Second)
	board.waitFor(`#ari li[data-instance="pages-b"]`, "Collegato", 6*time.Second)

	desk.click("#ready")
	ready := waitRedis(t, func() bool { return red.HGet(ctx, "centralino:agent:bruno", "state").Val() == "ready" }, 3*time.Second)
	shown := board.waitFor(`tr[data-agent="bruno"] .state`, "Disponibile", 3*time.Second)
	require.Less(t, shown.Sub(ready), time.Second, "A's change on B's wallboard")
	board.shot("across-instances")

	// B restarts: the wallboard is stale meanwhile, then live again.
	stopB()
	board.waitFor("#stale", "Dati non aggiornati", 6*time.Second)
	board.shot("stale")
	startDaemon(t, cfgB)
	waitRedis(t, func() bool { return board.text("#stale") == "" }, 10*time.Second)
	desk.do(chromedp.SetValue(chromedp.CSS("#pause-reason"), "Pausa pranzo"))
	desk.click("#pause")
	paused := waitRedis(t, func() bool { return red.HGet(ctx, "centralino:agent:bruno", "state").Val() == "paused" }, 3*time.Second)
	shown = board.waitFor(`tr[data-agent="bruno"] .state`, "In pausa Pausa pranzo", 3*time.Second)
	require.Less(t, shown.Sub(paused), time.Second, "live again after the restart")
	board.shot("after-restart")
}

// startDaemon starts a daemon on cfg without touching Redis (another one
// shares it) and returns its stop, which the test's end also calls.
func startDaemon(t *testing.T, cfg config.Config) (stop func()) {
	t.Helper()
	signals := make(chan os.Signal, 1)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(cfg, time.Now, asteristest.Quiet(), signals) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			signals <- syscall.SIGINT
			<-ran
		}
	}
	t.Cleanup(stop)
	base := "http://" + cfg.HTTP.Listen
	require.Eventually(t, func() bool { code, _ := get(t, base+"/healthz"); return code == http.StatusOK }, 20*time.Second, 50*time.Millisecond)
	return stop
}

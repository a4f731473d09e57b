package app_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/report"
)

// run runs the daemon of cfg until a signal; ran reports how Run returned.
func run(cfg config.Config, now clock.Clock) (chan<- os.Signal, <-chan error) {
	signals := make(chan os.Signal, 2)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(cfg, now, asteristest.Quiet(), signals) }()
	return signals, ran
}

// scrape reads the daemon's /metrics as Prometheus would ("" while it
// does not answer).
func scrape(t *testing.T, base string) string {
	t.Helper()
	code, body := do(t, "GET", base+"/metrics", "prom", "")
	if code != 200 {
		return ""
	}
	return body
}

// sample is the value of one series of a scrape (-1: absent).
func sample(scraped, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(scraped)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// A real call through the daemon on the sandbox: the citizen asks for an
// operator, nobody is logged in, and it hangs up as the queue announces
// its place. The live /metrics then passes promtool's lint, counts the
// call as the report does (queued, abandoned within 5 s), and the report
// of the day says the same.
func TestMetricsAfterARealCall(t *testing.T) {
	cfg := testConfig(t) // skips without the sandbox, outside make test
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not installed: run make setup (scripts/setup.sh installs Debian's prometheus)")
	cfg.Queue.Instance = cfg.ARI.Application // no other daemon's callers
	// Monday 2 March 2026, 10:00 in Rome, whenever the test runs: in
	// service hours; time runs on.
	rome, err := time.LoadLocation("Europe/Rome")
	require.NoError(t, err)
	offset := time.Date(2026, 3, 2, 10, 0, 0, 0, rome).Sub(time.Now())
	now := func() time.Time { return time.Now().Add(offset) }
	signals, ran := run(cfg, now)
	defer func() {
		signals <- syscall.SIGTERM
		select {
		case err := <-ran:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("the daemon did not stop on SIGTERM")
		}
	}()
	base := "http://" + cfg.HTTP.Listen
	series := "centralino_ari_connected{application=\"" + cfg.ARI.Application + "\"}"
	require.Eventually(t, func() bool { return sample(scrape(t, base), series) == 1 }, 20*time.Second, 50*time.Millisecond, "connected to Asterisk")

	sim := callsim.New(asteristest.Config(t, asteristest.App("t-citizen")), prometheus.NewRegistry(), asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, sim.Start(ctx))
	defer sim.Stop()
	c, err := sim.Place(ctx, cfg.ARI.Application, "sim-stasis", "3471234567")
	require.NoError(t, err)
	i, err := c.WaitMedia(ctx, prompts.Sound("menu_principale"), 0)
	require.NoError(t, err)
	require.NoError(t, c.Key(ctx, "0"))
	_, err = c.WaitMedia(ctx, prompts.Sound("posizione_in_coda"), i+1)
	require.NoError(t, err)
	require.NoError(t, c.Hangup(ctx))

	abandoned := `centralino_queue_calls_total{outcome="abandoned",queue="booking"}`
	var scraped string
	require.Eventually(t, func() bool {
		scraped = scrape(t, base)
		return sample(scraped, `centralino_calls_ended_total{direction="inbound",hours="in",outcome="abandoned",queue="booking"}`) == 1
	}, 15*time.Second, 50*time.Millisecond, "the call's end counted")

	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = bytes.NewBufferString(scraped)
	out, err := lint.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)

	for _, c := range []struct {
		series string
		want   float64 // -1: absent
	}{
		// One inbound call, in service hours, started once.
		{`centralino_calls_started_total{direction="inbound",hours="in"}`, 1},
		// Handed to the booking queue, and left it abandoned, within 5 s.
		{`centralino_queue_calls_queued_total{queue="booking"}`, 1},
		{abandoned, 1},
		{`centralino_queue_calls_short_abandoned_total{queue="booking"}`, 1},
		{`centralino_queue_wait_seconds_bucket{outcome="abandoned",queue="booking",le="5"}`, 1},
		{`centralino_queue_wait_seconds_count{outcome="abandoned",queue="booking"}`, 1},
		// The series the rules divide are there at zero.
		{`centralino_queue_calls_total{outcome="agent_answered",queue="booking"}`, 0},
		{`centralino_queue_calls_queued_total{queue="cancellation"}`, 0},
		{`centralino_sms_status_total{kind="reminder",status="failed"}`, 0},
		// Nobody logged in; the service open at the test's clock.
		{`centralino_queue_agents{state="ready"}`, 0},
		{`centralino_service_open`, 1},
		// Without Twilio's credentials there is no sender, so none of its
		// series; no recall was asked.
		{`centralino_sms_messages_total{kind="reminder",result="failed"}`, -1},
		{`centralino_recalls_requested_total{reason="wait"}`, -1},
	} {
		require.Equal(t, c.want, sample(scraped, c.series), c.series)
	}

	// The report of that day, from the daemon's database, counts the same.
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	require.NoError(t, err)
	defer db.Close()
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, rome)
	r, err := report.Build(ctx, db, report.Options{From: from, To: from.AddDate(0, 0, 1), Location: rome})
	require.NoError(t, err)
	require.Equal(t, report.Figures{Start: r.Total.Start, Calls: 1, InHours: 1, Queued: 1, Abandoned: 1, ShortAbandon: 1}, r.Total)
}

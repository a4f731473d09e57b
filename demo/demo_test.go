package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/demo"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

// A short morning (make demo with DEMO_SIZE=30) on the real stack: the
// report of the call records says what the simulated citizens and phones
// did, figure by figure, and the last line printed is that comparison.
func TestShortMorningReportsWhatTheSimulatorDid(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	ari := asteristest.Config(t, asteristest.App("t-demo"))
	cfg.ARI.URL, cfg.ARI.User, cfg.ARI.Password, cfg.ARI.Application = ari.URL, ari.User, ari.Password, ari.Application
	db := pgtest.NewDB(t)
	cfg.Database.URL = pgtest.URL(db)
	cfg.Redis.URL = "redis://127.0.0.1:6379/11" // the demo empties its Redis database: one no other test uses
	cfg.Queue.Instance = "t-demo"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.HTTP.Listen = ln.Addr().String()
	require.NoError(t, ln.Close())

	sched, err := hours.New(cfg.IVR.Hours)
	require.NoError(t, err)
	day := demo.NextMonday(time.Now(), sched)
	require.NoError(t, demo.Prepare(ctx, db, day, "", "", asteristest.Quiet()))

	var out bytes.Buffer
	res, err := demo.Run(ctx, demo.Options{Size: 30, Config: cfg, Day: day, Dir: t.TempDir(), Out: &out})
	require.NoError(t, err, out.String())
	t.Log(out.String())

	// Every kind of citizen of the plan shows in the figures.
	require.Positive(t, res.SimAnswered, "callers answered by an agent")
	require.Positive(t, res.SimAbandoned, "callers who hung up waiting")
	require.Positive(t, res.SimRecallsRequested, "recalls asked")
	require.Positive(t, res.SimRecallsConnected, "recalls connected")
	require.Positive(t, res.SimBookings, "self-service completions")
	// The report says what the simulator did.
	require.Equal(t, res.SimCalls, res.ReportCalls, "calls (inbound + recall)")
	require.Equal(t, res.SimAnswered, res.ReportAnswered, "answered")
	require.Equal(t, res.SimAbandoned, res.ReportAbandoned, "abandoned")
	require.Equal(t, res.SimRecallsRequested, res.ReportRecallsRequested, "recalls requested")
	require.Equal(t, res.SimRecallsConnected, res.ReportRecallsMade, "recalls made")
	require.Equal(t, res.SimBookings, res.ReportSelfService, "self-service")
	// What the stand-in of Twilio took is what the outbox recorded: the
	// confirmations, the reminders of the morning, the pre-alerts and the
	// ANNULLA's cancellation code.
	require.Positive(t, res.SMSSent)
	require.Equal(t, res.SMSSent, res.SMSRecorded, "sms")
	for _, kind := range []string{"confirmation", "reminder", "recall_prealert", "cancellation"} {
		require.Contains(t, out.String(), kind+" ", "an SMS of kind %s", kind)
	}

	// The last line is the comparison, as one JSON object.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last demo.Result
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
	require.Equal(t, res, last)
}

package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/booking/bench"
	"github.com/centralino-cup/centralino/booking/seed"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

func TestBenchSmall(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := seed.Run(ctx, db, seed.Options{Scale: "small", Start: time.Now(), Seed: 3}, quiet)
	require.NoError(t, err)
	svc := booking.NewService(db, booking.Options{Clock: time.Now, Log: quiet})
	var out bytes.Buffer
	res, err := bench.Run(ctx, db, svc, bench.Options{Lookups: 50, Clients: 4, Duration: time.Second, Log: quiet}, &out)
	require.NoError(t, err)
	require.Positive(t, res.CommitsPerS, out.String())
	require.Zero(t, res.DoubleBookings)
	require.Positive(t, res.FirstAvailableP99Ms)
	require.GreaterOrEqual(t, res.FirstAvailableP99Ms, res.FirstAvailableP50Ms)
	require.NoError(t, res.Print(&out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last), "the last line is one JSON object")
	for _, k := range []string{"first_available_p50_ms", "first_available_p99_ms", "slots", "commits_per_s", "clients", "double_bookings", "pgbench_tps", "ratio_to_pgbench"} {
		require.Contains(t, last, k)
	}
}

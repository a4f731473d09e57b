package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/report"
)

// Erlang C against the worked example of Call Centre Helper, "Erlang C
// Formula – Made Simple With an Easy Worked Example"
// (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm):
// 100 calls in 30 minutes, AHT 180 s, 10 erlangs; with 11 agents the
// probability that a call waits is 68.21 %, the service level at 20 s
// 39.0 %, the ASA 122.8 s, the occupancy 90.91 %; 14 agents are the
// fewest that reach 80 % within 20 s.
func TestErlangCWorkedExample(t *testing.T) {
	t.Parallel()
	load := report.Load{Calls: 100, Interval: 30 * time.Minute, AHT: 180 * time.Second}
	require.InDelta(t, 10, load.Erlangs(), 1e-12)
	require.InDelta(t, 0.6821, report.ErlangC(11, load.Erlangs()), 5e-5)
	s := load.With(11, 20*time.Second)
	require.InDelta(t, 0.390, s.ServiceLevel, 5e-4)
	require.InDelta(t, 122.8, s.ASASeconds, 0.05)
	require.InDelta(t, 0.9091, s.Occupancy, 5e-5)
	got, err := load.Staff(0.8, 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, 14, got.Agents)
	require.Less(t, load.With(13, 20*time.Second).ServiceLevel, 0.8, "13 agents fall short")
}

// Staff is the fewest agents for a target, for figures given by hand.
func TestStaff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		load   report.Load
		target float64
		within time.Duration
		want   report.Staffing
	}{
		// The example: 120 calls in 30 min, AHT 4 min (16
		// erlangs), 80 % within 30 s: 19 agents give 74.3 %, 20 give
		// 84.5 % with an ASA of 15.4 s at 80 % occupancy.
		{report.Load{Calls: 120, Interval: 30 * time.Minute, AHT: 4 * time.Minute}, 0.8, 30 * time.Second,
			report.Staffing{Agents: 20, ServiceLevel: 0.84468, ASASeconds: 15.365, Occupancy: 0.8}},
		// ASL Foggia's 76 % within 30 s on the same load: 19 agents
		// are not enough (74.3 %), 20 are.
		{report.Load{Calls: 120, Interval: 30 * time.Minute, AHT: 4 * time.Minute}, 0.76, 30 * time.Second,
			report.Staffing{Agents: 20, ServiceLevel: 0.84468, ASASeconds: 15.365, Occupancy: 0.8}},
		// A quiet half hour, one call: one agent (with one agent Erlang C
		// is the load itself, 0.1333: SL = 1 − 0.1333 e^(−0.8667 × 30/240)).
		{report.Load{Calls: 1, Interval: 30 * time.Minute, AHT: 4 * time.Minute}, 0.8, 30 * time.Second,
			report.Staffing{Agents: 1, ServiceLevel: 0.88036, ASASeconds: 36.923, Occupancy: 0.13333}},
		// No calls: no agent.
		{report.Load{Calls: 0, Interval: 30 * time.Minute, AHT: 4 * time.Minute}, 0.8, 30 * time.Second,
			report.Staffing{Agents: 0, ServiceLevel: 1}},
		// Toscana's scale, 2,700 operators at peak: the recursion stays
		// finite where a^n/n! overflows float64 (10,000 calls, 8 min:
		// 2666.7 erlangs); the figures are the direct formula's, summed
		// in log space.
		{report.Load{Calls: 10000, Interval: 30 * time.Minute, AHT: 8 * time.Minute}, 0.8, 20 * time.Second,
			report.Staffing{Agents: 2691, ServiceLevel: 0.80819, ASASeconds: 10.429, Occupancy: 0.99096}},
	}
	for _, c := range cases {
		got, err := c.load.Staff(c.target, c.within)
		require.NoError(t, err)
		require.Equal(t, c.want.Agents, got.Agents, "%+v", c.load)
		require.InDelta(t, c.want.ServiceLevel, got.ServiceLevel, 5e-5, "%+v", c.load)
		require.InDelta(t, c.want.ASASeconds, got.ASASeconds, 5e-3, "%+v", c.load)
		require.InDelta(t, c.want.Occupancy, got.Occupancy, 5e-5, "%+v", c.load)
		if got.Agents > 0 {
			require.Less(t, c.load.With(got.Agents-1, c.within).ServiceLevel, c.target, "one agent fewer falls short")
		}
	}
	_, err := report.Load{Calls: 10, Interval: 30 * time.Minute, AHT: time.Minute}.Staff(1, 30*time.Second)
	require.ErrorIs(t, err, report.ErrTarget)
}

// centralinoctl staffing's answer: the last line is the JSON the issue
// names, the table above it ends with the answer.
func TestWriteStaffing(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, report.WriteStaffing(&out, report.Load{Calls: 120, Interval: 30 * time.Minute, AHT: 4 * time.Minute}, 0.8, 30*time.Second))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, `{"agents":20,"service_level":0.8447,"asa_s":15.36,"occupancy":0.8}`, lines[len(lines)-1])
	require.Equal(t, "120 calls in 30m0s, AHT 4m0s: 16.00 erlangs; target 80 % answered within 30s", lines[0])
	require.Regexp(t, `^\s*19\s+74\.3 %\s+29\.9 s\s+84\.2 %$`, lines[len(lines)-3])
	require.Regexp(t, `^\s*20\s+84\.5 %\s+15\.4 s\s+80\.0 %$`, lines[len(lines)-2])
	require.ErrorIs(t, report.WriteStaffing(&out, report.Load{Calls: 1, Interval: time.Hour, AHT: time.Minute}, 0, time.Second), report.ErrTarget)
}

// A period is whole days in Rome, both ends included, or months.
func TestParseDays(t *testing.T) {
	t.Parallel()
	rome, err := time.LoadLocation("Europe/Rome")
	require.NoError(t, err)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, rome) }
	cases := []struct {
		from, to   string
		start, end time.Time
		err        bool
	}{
		// Two days, both included.
		{"2026-03-02", "2026-03-03", day(2026, 3, 2), day(2026, 3, 4), false},
		// One day.
		{"2026-03-29", "", day(2026, 3, 29), day(2026, 3, 30), false},
		// ASL Foggia's year, by months.
		{"2015-09", "2016-08", day(2015, 9, 1), day(2016, 9, 1), false},
		// Backwards.
		{"2026-03-03", "2026-03-02", time.Time{}, time.Time{}, true},
		// Not a date.
		{"yesterday", "", time.Time{}, time.Time{}, true},
	}
	for _, c := range cases {
		start, end, err := report.ParseDays(c.from, c.to, rome)
		if c.err {
			require.Error(t, err, c.from)
			continue
		}
		require.NoError(t, err, c.from)
		require.True(t, c.start.Equal(start), "%s: %s", c.from, start)
		require.True(t, c.end.Equal(end), "%s: %s", c.from, end)
	}
	// The day clocks go forward is 23 hours long.
	start, end, err := report.ParseDays("2026-03-29", "", rome)
	require.NoError(t, err)
	require.Equal(t, 23*time.Hour, end.Sub(start))
}

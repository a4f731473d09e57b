package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/report"
)

var rome, _ = time.LoadLocation("Europe/Rome")

// at is a local time in Rome: "2026-03-02 08:05".
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, rome)
	if err != nil {
		panic(err)
	}
	return t
}

// call is one record of the data set: a call that starts at start and,
// when queued, enters its queue 30 s later, waits wait, and talks talk
// to the agent who answers.
type call struct {
	start   string
	inbound bool
	inHours bool
	outcome calls.Outcome
	queue   string
	wait    time.Duration
	// left: the queue said when the caller left (not for a hand-off
	// that failed, nor for app_queue).
	left   bool
	talk   time.Duration
	recall string // the recall request a recall try is for
}

// recallRequest is one row of recall_requests.
type recallRequest struct {
	reason    string
	requested string
	connected string // "" not connected
	expired   string // "" not expired
}

// The period: Monday 2 and Tuesday 3 March 2026, in Rome.
var (
	from = at("2026-03-02 00:00:00")
	to   = at("2026-03-04 00:00:00")
)

// requests are the recall requests of the data set.
var requests = map[string]recallRequest{
	// Asked in the queue Monday (call 7), connected at the second try.
	"R1": {"wait", "2026-03-02 09:22:10", "2026-03-02 10:30:20", ""},
	// Asked out of hours Monday night (call 8), connected Tuesday at the
	// opening.
	"R2": {"out_of_hours", "2026-03-02 21:01:00", "2026-03-03 08:01:00", ""},
	// Asked Tuesday, expired Tuesday at closing.
	"R3": {"wait", "2026-03-03 09:00:00", "", "2026-03-03 18:00:00"},
	// Asked the Friday before (not in the period), expired Monday.
	"R4": {"out_of_hours", "2026-02-27 20:00:00", "", "2026-03-02 18:00:00"},
}

// dataset is the period's calls, with two outside it.
var dataset = []call{
	// 1. Monday: self-service booking.
	{start: "2026-03-02 08:05:00", inbound: true, inHours: true, outcome: calls.OutcomeSelfBooked},
	// 2. Self-service cancellation.
	{start: "2026-03-02 08:10:00", inbound: true, inHours: true, outcome: calls.OutcomeSelfCancelled},
	// 3. Queued, answered after 12 s, 3 min talk.
	{start: "2026-03-02 08:20:00", inbound: true, inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", wait: 12 * time.Second, left: true, talk: 3 * time.Minute},
	// 4. Queued, answered after 45 s, 5 min talk.
	{start: "2026-03-02 08:40:00", inbound: true, inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", wait: 45 * time.Second, left: true, talk: 5 * time.Minute},
	// 5. Queued, hung up after 3 s: a short abandon.
	{start: "2026-03-02 09:10:00", inbound: true, inHours: true, outcome: calls.OutcomeAbandoned, queue: "booking", wait: 3 * time.Second, left: true},
	// 6. Queued, hung up after 50 s.
	{start: "2026-03-02 09:15:00", inbound: true, inHours: true, outcome: calls.OutcomeAbandoned, queue: "cancellation", wait: 50 * time.Second, left: true},
	// 7. Queued, accepted the recall at 2 min 10 s (R1).
	{start: "2026-03-02 09:20:00", inbound: true, inHours: true, outcome: calls.OutcomeRecallRequested, queue: "booking", wait: 130 * time.Second, left: true},
	// 8. Out of hours: asked a recall (R2).
	{start: "2026-03-02 21:00:00", inbound: true, outcome: calls.OutcomeOutOfHoursRecall},
	// 9. Out of hours: declined the recall.
	{start: "2026-03-02 22:00:00", inbound: true, outcome: calls.OutcomeClosed},
	// 10. R1's first try: no answer.
	{start: "2026-03-02 10:00:00", inHours: true, outcome: calls.OutcomeNoAnswer, queue: "booking", recall: "R1"},
	// 11. R1's second try: connected.
	{start: "2026-03-02 10:30:00", inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", recall: "R1"},
	// 12. Tuesday: R2's try at the opening: connected.
	{start: "2026-03-03 08:00:30", inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", recall: "R2"},
	// 13. Queued, answered after 25 s, 4 min talk.
	{start: "2026-03-03 08:05:00", inbound: true, inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", wait: 25 * time.Second, left: true, talk: 4 * time.Minute},
	// 14. Queued, answered after 70 s, 4 min talk.
	{start: "2026-03-03 08:07:00", inbound: true, inHours: true, outcome: calls.OutcomeAgentAnswered, queue: "booking", wait: 70 * time.Second, left: true, talk: 4 * time.Minute},
	// 15. Queued, failed after 10 s (the queue said nothing of the wait).
	{start: "2026-03-03 08:15:00", inbound: true, inHours: true, outcome: calls.OutcomeFailed, queue: "booking", wait: 10 * time.Second},
	// 16. Self-service move.
	{start: "2026-03-03 08:20:00", inbound: true, inHours: true, outcome: calls.OutcomeSelfMoved},
	// 17. Hung up in the IVR.
	{start: "2026-03-03 08:25:00", inbound: true, inHours: true, outcome: calls.OutcomeHungUp},
	// 18. Handed to app_queue: its end is not seen.
	{start: "2026-03-03 08:30:00", inbound: true, inHours: true, outcome: calls.OutcomeTransferred, queue: "booking"},
	// Outside the period: the second before it, and its end (exclusive).
	{start: "2026-02-28 23:59:59", inbound: true, outcome: calls.OutcomeClosed},
	{start: "2026-03-04 00:00:00", inbound: true, outcome: calls.OutcomeClosed},
}

// seed writes the data set through the call records, as the IVR and the
// dialler do.
func seed(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int64{}
	for name, r := range requests {
		var connected, closed *time.Time
		status := "failed"
		if r.connected != "" {
			c := at(r.connected)
			connected, closed, status = &c, &c, "connected"
		}
		if r.expired != "" {
			e := at(r.expired)
			closed, status = &e, "expired"
		}
		var id int64
		require.NoError(t, db.QueryRow(ctx, `insert into recall_requests (phone, reason, queue_entered_at, requested_at, not_before,
			next_attempt_at, status, updated_at, valid_until, connected_at, closed_at)
			values ($1, $2, $3, $3, $3, $3, $4, $3, $3, $5, $6) returning id`,
			fmt.Sprintf("+3934710000%02d", len(ids)), r.reason, at(r.requested), status, connected, closed).Scan(&id))
		ids[name] = id
	}
	records := calls.NewRecords(db)
	for i, c := range dataset {
		start := at(c.start)
		id, err := records.Start(ctx, calls.Arrival{ChannelID: fmt.Sprintf("ch-%d", i), Inbound: c.inbound, DID: "800466222", InHours: c.inHours}, start)
		require.NoError(t, err)
		end := calls.Ending{Outcome: c.outcome, Queue: c.queue, RecallID: ids[c.recall]}
		ended := start.Add(time.Minute)
		if c.inbound && c.queue != "" {
			end.QueueEntered = start.Add(30 * time.Second)
			ended = end.QueueEntered.Add(c.wait)
			if c.left {
				end.QueueLeft = ended
			}
			ended = ended.Add(c.talk)
		}
		require.NoError(t, records.End(ctx, id, end, ended))
	}
	// A call still in progress in the period: counted in the totals only.
	_, err := records.Start(ctx, calls.Arrival{ChannelID: "ch-live", Inbound: true, DID: "800466222", InHours: true}, at("2026-03-03 17:59:00"))
	require.NoError(t, err)
}

func ratio(n, d float64) *float64 { r := n / d; return &r }

// reportOf is the report, by day, of the period on a database of its own
// holding the data set; o says the rest.
func reportOf(t *testing.T, o report.Options) report.Report {
	t.Helper()
	db := pgtest.NewDB(t)
	seed(t, db)
	o.From, o.To, o.By, o.Location = from, to, report.ByDay, rome
	r, err := report.Build(context.Background(), db, o)
	require.NoError(t, err)
	return r
}

// The report of the data set, every figure computed by hand.
func TestReportByDay(t *testing.T) {
	t.Parallel()
	r := reportOf(t, report.Options{WrapUp: 10 * time.Second})

	// Monday: 9 inbound calls (1–9) and 2 recall tries (10, 11). Queued 3,
	// 4, 5, 6, 7; answered 3 (12 s) and 4 (45 s); abandoned 5 (short) and
	// 6. Base = 2 answered + 2 abandoned − 1 short = 3: 1 within 30 s,
	// 2 within 60 s, 1 abandoned past 5 s. ASA (12 + 45) / 2.
	monday := report.Figures{Start: from, Calls: 11, InHours: 7, OutOfHours: 2, RecallsMade: 2, SelfService: 2,
		Queued: 5, Answered: 2, Answered30s: 1, Answered60s: 2, Abandoned: 2, ShortAbandon: 1, RecallAccepted: 1,
		ServiceLevel30s: ratio(1, 3), ServiceLevel60s: ratio(2, 3), AbandonedRatio: ratio(1, 3), ASASeconds: ratio(57, 2)}
	// Tuesday: 6 inbound (13–18), the in-progress call, 1 recall try
	// (12). Queued 13, 14, 15, 18; answered 13 (25 s) and 14 (70 s);
	// failed 15; 18 went to app_queue. Base = 2 answered + 1 failed = 3.
	tuesday := report.Figures{Start: at("2026-03-03 00:00:00"), Calls: 8, InHours: 7, OutOfHours: 0, RecallsMade: 1, SelfService: 1,
		Queued: 4, Answered: 2, Answered30s: 1, Answered60s: 1, Failed: 1, Transferred: 1,
		ServiceLevel30s: ratio(1, 3), ServiceLevel60s: ratio(1, 3), AbandonedRatio: ratio(0, 3), ASASeconds: ratio(95, 2)}
	// The period: 19 calls = 14 in hours + 2 out of hours + 3 recalls
	// made. Base = 4 answered + 2 abandoned − 1 short + 1 failed = 6;
	// within 30 s: 12 s and 25 s; within 60 s: also 45 s; ASA
	// (12 + 45 + 25 + 70) / 4 = 38 s. Self-service: 1, 2, 16.
	total := report.Figures{Start: from, Calls: 19, InHours: 14, OutOfHours: 2, RecallsMade: 3, SelfService: 3,
		Queued: 9, Answered: 4, Answered30s: 2, Answered60s: 3, Abandoned: 2, ShortAbandon: 1, RecallAccepted: 1, Failed: 1,
		Transferred: 1, ServiceLevel30s: ratio(2, 6), ServiceLevel60s: ratio(3, 6), AbandonedRatio: ratio(1, 6), ASASeconds: ratio(38, 1)}
	requireFigures(t, []report.Figures{monday, tuesday}, r.Rows)
	requireFigures(t, []report.Figures{total}, []report.Figures{r.Total})

	// Recalls: asked in the period R1, R3 (wait) and R2 (out of hours);
	// connected R1 after 1 h 8 min 10 s (4090 s) and R2 after 11 h (39600
	// s): median 21845 s; expired R4 (Monday) and R3 (Tuesday).
	require.Equal(t, map[string]int64{"wait": 2, "out_of_hours": 1}, r.Recalls.Requested)
	require.Equal(t, int64(2), r.Recalls.Connected)
	require.NotNil(t, r.Recalls.MedianToConnectedSeconds)
	require.InDelta(t, 21845, *r.Recalls.MedianToConnectedSeconds, 1e-6)
	require.Equal(t, int64(2), r.Recalls.Expired)

	// Half hours (Rome): calls 1, 2, 3, 13–17 and the queue entries of 3,
	// 13, 14, 15 at 08:00; calls 4, 18 and their entries at 08:30; 5, 6,
	// 7 at 09:00; 8 at 21:00, 9 at 22:00; the live call at 17:30. Two
	// working days. AHT = mean talk of the answered (3, 5, 4, 4 min) +
	// 10 s wrap-up = 250 s.
	require.Equal(t, int64(2), r.WorkingDays)
	require.Equal(t, report.AHTMeasured, r.AHTFrom)
	require.InDelta(t, 250, r.AHTSeconds, 1e-6)
	// Erlang C by hand, 80 % within 30 s, 1800 s half hours:
	// 08:00, 2 queued a day: A = 2 × 250 / 1800 = 0.2778. One agent:
	//   C = A, SL = 1 − 0.2778 e^(−0.7222 × 30/250) = 74.5 %, short.
	//   Two: B(1) = A/(1+A) = 0.2174, B(2) = A·B(1)/(2 + A·B(1)) =
	//   0.02931, C = 2·B(2)/(2 − A(1 − B(2))) = 0.03388, SL = 1 −
	//   0.03388 e^(−1.7222 × 0.12) = 97.2 %, ASA = 0.03388 × 250 /
	//   1.7222 = 4.92 s, occupancy A/2 = 13.9 %.
	// 08:30, 1 a day: A = 0.1389; one agent: SL = 1 − 0.1389
	//   e^(−0.8611 × 0.12) = 87.5 %, ASA = 0.1389 × 250 / 0.8611 =
	//   40.3 s, occupancy 13.9 %.
	// 09:00, 1.5 a day: A = 0.2083; one agent: SL = 1 − 0.2083
	//   e^(−0.7917 × 0.12) = 81.1 %, ASA = 65.8 s, occupancy 20.8 %.
	want := []report.HalfHourRow{
		{Start: "08:00", Arrivals: 8, Queued: 4, ArrivalsPerDay: 4, QueuedPerDay: 2,
			Staffing: &report.Staffing{Agents: 2, ServiceLevel: 0.97245, ASASeconds: 4.9174, Occupancy: 0.13889}},
		{Start: "08:30", Arrivals: 2, Queued: 2, ArrivalsPerDay: 1, QueuedPerDay: 1,
			Staffing: &report.Staffing{Agents: 1, ServiceLevel: 0.87475, ASASeconds: 40.323, Occupancy: 0.13889}},
		{Start: "09:00", Arrivals: 3, Queued: 3, ArrivalsPerDay: 1.5, QueuedPerDay: 1.5,
			Staffing: &report.Staffing{Agents: 1, ServiceLevel: 0.81055, ASASeconds: 65.789, Occupancy: 0.20833}},
		{Start: "17:30", Arrivals: 1, ArrivalsPerDay: 0.5},
		{Start: "21:00", Arrivals: 1, ArrivalsPerDay: 0.5},
		{Start: "22:00", Arrivals: 1, ArrivalsPerDay: 0.5},
	}
	require.Len(t, r.HalfHours, len(want))
	for i, w := range want {
		got := r.HalfHours[i]
		require.Equal(t, w.Start, got.Start)
		require.Equal(t, w.Arrivals, got.Arrivals, w.Start)
		require.Equal(t, w.Queued, got.Queued, w.Start)
		require.InDelta(t, w.ArrivalsPerDay, got.ArrivalsPerDay, 1e-9, w.Start)
		require.InDelta(t, w.QueuedPerDay, got.QueuedPerDay, 1e-9, w.Start)
		if w.Staffing == nil {
			require.Nil(t, got.Staffing, w.Start)
			continue
		}
		require.NotNil(t, got.Staffing, w.Start)
		require.Equal(t, w.Staffing.Agents, got.Staffing.Agents, w.Start)
		require.InDelta(t, w.Staffing.ServiceLevel, got.Staffing.ServiceLevel, 1e-4, w.Start)
		require.InDelta(t, w.Staffing.ASASeconds, got.Staffing.ASASeconds, 1e-3, w.Start)
		require.InDelta(t, w.Staffing.Occupancy, got.Staffing.Occupancy, 1e-4, w.Start)
	}
}

// requireFigures compares figures, ratios to 1e-9.
func requireFigures(t *testing.T, want, got []report.Figures) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		require.True(t, w.Start.Equal(g.Start), "start %s, want %s", g.Start, w.Start)
		for _, p := range []struct {
			name string
			w, g *float64
		}{{"service level 30 s", w.ServiceLevel30s, g.ServiceLevel30s}, {"service level 60 s", w.ServiceLevel60s, g.ServiceLevel60s},
			{"abandoned", w.AbandonedRatio, g.AbandonedRatio}, {"ASA", w.ASASeconds, g.ASASeconds}} {
			require.NotNil(t, p.g, "%s of %s", p.name, w.Start)
			require.InDelta(t, *p.w, *p.g, 1e-9, "%s of %s", p.name, w.Start)
		}
		w.Start, g.Start = time.Time{}, time.Time{}
		w.ServiceLevel30s, w.ServiceLevel60s, w.AbandonedRatio, w.ASASeconds = nil, nil, nil, nil
		g.ServiceLevel30s, g.ServiceLevel60s, g.AbandonedRatio, g.ASASeconds = nil, nil, nil, nil
		require.Equal(t, w, g, "row %d", i)
	}
}

// A week and a month are one row each here; a period with no call has
// no ratio (nothing to divide), not a zero.
func TestReportBuckets(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	seed(t, db)
	ctx := context.Background()
	cases := []struct {
		by   string
		from time.Time
		to   time.Time
		// starts are the rows' starts; calls their totals.
		starts []time.Time
		calls  []int64
	}{
		// ISO week 10 of 2026 starts on Monday 2 March.
		{report.ByWeek, from, to, []time.Time{from}, []int64{19}},
		// A month from midday of its first day: the row starts at the
		// period's start, not at the month's.
		{report.ByMonth, at("2026-03-01 12:00:00"), to, []time.Time{at("2026-03-01 12:00:00")}, []int64{19}},
		// Two months, in Rome: February has the call of its last second.
		{report.ByMonth, at("2026-02-01 00:00:00"), to, []time.Time{at("2026-02-01 00:00:00"), at("2026-03-01 00:00:00")}, []int64{1, 19}},
		// A day with no call: no row.
		{report.ByDay, at("2026-03-05 00:00:00"), at("2026-03-06 00:00:00"), nil, nil},
	}
	for _, c := range cases {
		r, err := report.Build(ctx, db, report.Options{From: c.from, To: c.to, By: c.by, Location: rome})
		require.NoError(t, err)
		require.Len(t, r.Rows, len(c.starts), c.by)
		for i := range c.starts {
			require.True(t, c.starts[i].Equal(r.Rows[i].Start), "%s row %d starts %s", c.by, i, r.Rows[i].Start)
			require.Equal(t, c.calls[i], r.Rows[i].Calls, "%s row %d", c.by, i)
		}
		if c.starts == nil {
			require.Zero(t, r.Total.Calls)
			require.Nil(t, r.Total.ServiceLevel30s)
			require.Nil(t, r.Total.ASASeconds)
			require.Equal(t, report.AHTDefault, r.AHTFrom, "no answered call: the default handle time")
			require.Equal(t, report.DefaultAHT.Seconds(), r.AHTSeconds)
		}
	}
	_, err := report.Build(ctx, db, report.Options{From: to, To: from, Location: rome})
	require.Error(t, err, "an empty period")
	_, err = report.Build(ctx, db, report.Options{From: from, To: to, By: "year", Location: rome})
	require.Error(t, err, "an unknown bucket")
}

// The three formats say the same figures: text for a reader, csv and
// json read back.
func TestReportFormats(t *testing.T) {
	t.Parallel()
	r := reportOf(t, report.Options{AHT: 4 * time.Minute})
	require.Equal(t, report.AHTGiven, r.AHTFrom)

	var text bytes.Buffer
	require.NoError(t, r.Write(&text, report.FormatText))
	out := text.String()
	require.Contains(t, out, "CUP report, 2026-03-02 to 2026-03-03 (Europe/Rome)")
	require.Regexp(t, `2026-03-02\s+11\s+7\s+2\s+2\s+33\.3 %\s+66\.7 %\s+33\.3 %\s+28\.5 s\s+2`, out)
	require.Regexp(t, `total\s+19\s+14\s+2\s+3\s+33\.3 %\s+50\.0 %\s+16\.7 %\s+38\.0 s\s+3`, out)
	require.Contains(t, out, "queued 9: answered 4, abandoned 2 (1 short, within 5 s), accepted the recall 1, failed 1, handed to app_queue 1")
	require.Contains(t, out, "recalls: requested 3 (wait 2, out of hours 1), connected 2 (median from request 6h4m5s), expired 2")
	require.Contains(t, out, "AHT 4m0s (given)")

	var csvOut bytes.Buffer
	require.NoError(t, r.Write(&csvOut, report.FormatCSV))
	cr := csv.NewReader(&csvOut)
	cr.FieldsPerRecord = -1 // three blocks, each with its header
	recs, err := cr.ReadAll()
	require.NoError(t, err)
	require.Equal(t, "period", recs[0][0])
	require.Equal(t, []string{"2026-03-02", "2026-03-02T00:00:00+01:00", "11", "7", "2", "2", "0.3333", "0.6667", "0.3333", "28.5000", "2"}, recs[1][:11])
	require.Equal(t, []string{"total", "2026-03-02T00:00:00+01:00", "19", "14", "2", "3", "0.3333", "0.5000", "0.1667", "38.0000", "3"}, recs[3][:11])
	require.Equal(t, []string{"2", "1", "2", "21845.0000", "2"}, recs[5], "the recall figures")
	require.Equal(t, "half_hour", recs[6][0])
	require.Equal(t, "08:00", recs[7][0])

	var js bytes.Buffer
	require.NoError(t, r.Write(&js, report.FormatJSON))
	var back report.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	require.Equal(t, r.Total.Calls, back.Total.Calls)
	require.InDelta(t, 38, *back.Total.ASASeconds, 1e-9)
	require.Len(t, back.HalfHours, len(r.HalfHours))
	require.True(t, strings.HasPrefix(js.String(), "{"))

	require.Error(t, r.Write(&js, "xml"))
}

// The wallboard's figures of the day are the report's of that day, with
// the open recalls by reason (whatever day they were asked) and the SMS
// that failed that day.
func TestToday(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	seed(t, db)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	// Two open wait recalls (one asked the day before) and one queued
	// out-of-hours one; the data set's are all closed.
	for i, r := range []struct{ reason, status, asked string }{
		{"wait", "pending", "2026-03-01 17:00:00"}, {"wait", "dialling", "2026-03-03 10:00:00"}, {"out_of_hours", "queued", "2026-03-02 20:30:00"}} {
		exec(`insert into recall_requests (phone, reason, queue_entered_at, requested_at, not_before, next_attempt_at, status, updated_at, valid_until)
			values ($1, $2, $3, $3, $3, $3, $4, $3, $3)`, fmt.Sprintf("+3934720000%02d", i), r.reason, at(r.asked), r.status)
	}
	// SMS: one failed on Tuesday, one failed on Monday, one delivered.
	for i, s := range []struct{ status, at string }{{"failed", "2026-03-03 09:00:00"}, {"failed", "2026-03-02 09:00:00"}, {"delivered", "2026-03-03 09:30:00"}} {
		exec(`insert into sms_outbox (idempotency_key, kind, phone, body, due_at, status, next_attempt_at, created_at, updated_at)
			values ($1, 'reminder', '+393471234567', 'x', $2, $3, $2, $2, $2)`, fmt.Sprintf("reminder:%d", i), at(s.at), s.status)
	}

	live, err := report.Today(ctx, db, at("2026-03-03 12:00:00"), rome)
	require.NoError(t, err)
	byDay := reportOf(t, report.Options{})
	tuesday := byDay.Rows[1]
	require.Equal(t, at("2026-03-03 00:00:00"), live.Day)
	require.Equal(t, tuesday.Calls, live.Figures.Calls)
	require.Equal(t, tuesday.ServiceLevel30s, live.Figures.ServiceLevel30s, "the report's service level of the day")
	require.Equal(t, tuesday.ASASeconds, live.Figures.ASASeconds)
	require.Equal(t, map[string]report.PendingRecalls{
		"wait":         {Count: 2, Oldest: at("2026-03-01 17:00:00")},
		"out_of_hours": {Count: 1, Oldest: at("2026-03-02 20:30:00")},
	}, normalise(live.Pending))
	require.Equal(t, int64(1), live.SMSFailed, "the SMS failed that day")
}

// normalise puts the times of pending in Rome, for comparing.
func normalise(pending map[string]report.PendingRecalls) map[string]report.PendingRecalls {
	out := map[string]report.PendingRecalls{}
	for k, p := range pending {
		p.Oldest = p.Oldest.In(rome)
		out[k] = p
	}
	return out
}

package calls_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

func TestRecords(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	rec := calls.NewRecords(db)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	id, err := rec.Start(ctx, calls.Arrival{ChannelID: "ch-1", Inbound: true, Caller: "+393471234567", DID: "800466222", InHours: true}, t0)
	require.NoError(t, err)
	// A recovered call keeps its record.
	again, err := rec.Start(ctx, calls.Arrival{ChannelID: "ch-1", Inbound: true, DID: "800466222", InHours: true}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, id, again)

	require.NoError(t, rec.Answered(ctx, id, t0.Add(time.Second)))
	require.NoError(t, rec.Step(ctx, id, "menu:1", nil))
	require.NoError(t, rec.Step(ctx, id, "nre", map[string]string{"nre": "070A40000000001"}))
	require.NoError(t, rec.End(ctx, id, calls.Ending{Outcome: calls.OutcomeSelfBooked, BookingNumber: "123456789012"}, t0.Add(70*time.Second)))
	// A late hang-up does not overwrite the outcome.
	require.NoError(t, rec.End(ctx, id, calls.Ending{Outcome: calls.OutcomeHungUp}, t0.Add(80*time.Second)))

	var path []string
	var outcome, number, nre string
	var ended time.Time
	require.NoError(t, db.QueryRow(ctx, `select menu_path, outcome::text, booking_number, keyed->>'nre', ended_at from calls where id = $1`, id).
		Scan(&path, &outcome, &number, &nre, &ended))
	require.Equal(t, []string{"menu:1", "nre"}, path)
	require.Equal(t, "self_booked", outcome)
	require.Equal(t, "123456789012", number)
	require.Equal(t, "070A40000000001", nre)
	require.True(t, t0.Add(70*time.Second).Equal(ended))
}

// The queue's part of a call: which queue, when the caller entered and
// left it, who answered; a caller back from the queue keeps its entry.
func TestRecordsQueueWait(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	rec := calls.NewRecords(db)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	id, err := rec.Start(ctx, calls.Arrival{ChannelID: "ch-q", Inbound: true, DID: "800466222", InHours: true}, t0)
	require.NoError(t, err)
	require.NoError(t, rec.End(ctx, id, calls.Ending{Outcome: calls.OutcomeTransferred, Queue: "booking", QueueEntered: t0.Add(30 * time.Second)}, t0.Add(30*time.Second)))
	require.NoError(t, rec.End(ctx, id, calls.Ending{Outcome: calls.OutcomeAgentAnswered, Agent: "anna", Queue: "booking",
		QueueEntered: t0.Add(90 * time.Second), QueueLeft: t0.Add(150 * time.Second)}, t0.Add(400*time.Second)))
	var queue, agent, outcome string
	var entered, left time.Time
	require.NoError(t, db.QueryRow(ctx, `select queue_name, queue_entered_at, queue_left_at, agent, outcome::text from calls where id = $1`, id).
		Scan(&queue, &entered, &left, &agent, &outcome))
	require.Equal(t, "booking", queue)
	require.True(t, t0.Add(30*time.Second).Equal(entered), "first entry kept: %s", entered)
	require.True(t, t0.Add(150*time.Second).Equal(left))
	require.Equal(t, "anna", agent)
	require.Equal(t, "agent_answered", outcome)
}

// The counters count the records as the report does: each record once
// when it starts (a recovered call's again is not a new call), each
// ending once (a late hang-up after the flow's end is not), and a call
// handed to app_queue that comes back ends twice.
func TestRecordsCounted(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	rec := calls.NewRecords(db).Register(reg)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	type end struct {
		outcome calls.Outcome
		queue   string
	}
	cases := []struct {
		channel string
		inbound bool
		inHours bool
		// starts is how many times the channel's record is started (a
		// recovered call starts again).
		starts int
		ends   []end
	}{
		// Self-service in hours; a late hang-up does not end it again.
		{"ch-self", true, true, 1, []end{{calls.OutcomeSelfBooked, ""}, {calls.OutcomeHungUp, ""}}},
		// A call recovered after a restart, answered by an agent.
		{"ch-agent", true, true, 2, []end{{calls.OutcomeAgentAnswered, "booking"}}},
		// Out of hours: a recall asked.
		{"ch-night", true, false, 1, []end{{calls.OutcomeOutOfHoursRecall, ""}}},
		// Handed to app_queue, given back, the recall accepted: two endings.
		{"ch-appq", true, true, 1, []end{{calls.OutcomeTransferred, "booking"}, {calls.OutcomeRecallRequested, ""}}},
		// A recall's try the citizen did not answer.
		{"ch-recall", false, true, 1, []end{{calls.OutcomeNoAnswer, "booking"}}},
		// Still in progress: started, not ended.
		{"ch-live", true, true, 1, nil},
	}
	for _, c := range cases {
		var id uuid.UUID
		for range c.starts {
			var err error
			id, err = rec.Start(ctx, calls.Arrival{ChannelID: c.channel, Inbound: c.inbound, DID: "800466222", InHours: c.inHours}, t0)
			require.NoError(t, err)
		}
		for _, e := range c.ends {
			require.NoError(t, rec.End(ctx, id, calls.Ending{Outcome: e.outcome, Queue: e.queue}, t0.Add(time.Minute)))
		}
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP centralino_calls_started_total Call records started, by direction (inbound, recall) and hours (in, out of service hours).
# TYPE centralino_calls_started_total counter
centralino_calls_started_total{direction="inbound",hours="in"} 4
centralino_calls_started_total{direction="inbound",hours="out"} 1
centralino_calls_started_total{direction="recall",hours="in"} 1
# HELP centralino_calls_ended_total Call records ended, by direction, hours, outcome and queue (empty: none).
# TYPE centralino_calls_ended_total counter
centralino_calls_ended_total{direction="inbound",hours="in",outcome="agent_answered",queue="booking"} 1
centralino_calls_ended_total{direction="inbound",hours="in",outcome="recall_requested",queue="booking"} 1
centralino_calls_ended_total{direction="inbound",hours="in",outcome="self_booked",queue=""} 1
centralino_calls_ended_total{direction="inbound",hours="in",outcome="transferred",queue="booking"} 1
centralino_calls_ended_total{direction="inbound",hours="out",outcome="out_of_hours_recall",queue=""} 1
centralino_calls_ended_total{direction="recall",hours="in",outcome="no_answer",queue="booking"} 1
`)))
}

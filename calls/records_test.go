package calls_test

import (
	"context"
	"testing"
	"time"

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

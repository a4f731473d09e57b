package recall_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// A dial whose instance died is taken back after its lease (recover.sql):
// one that had called the citizen counts a try, its call record is ended,
// not left open, and its stale queue entry is dropped (its next try
// enters afresh); one that had only rung the agent goes back to its
// queue, no try spent.
func TestDeadInstanceDialTakenBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// channel is the citizen's leg the dead instance had placed ("":
		// none yet, it was ringing the agent); tried is how many tries
		// the recall had before.
		channel string
		tried   int
		// What the recall and its try's record are once taken back ("":
		// no record).
		status, result string
		attempts       int
		outcome        string
	}{
		// The agent was rung, the citizen not yet called.
		{name: "agent ringing", status: "queued", attempts: 0},
		// The citizen's phone was ringing: the try counts, the next
		// comes later, the record is ended.
		{name: "citizen ringing", channel: "rc-dead-1", status: "pending", result: "interrupted", attempts: 1, outcome: "failed"},
		// The same on the last try: the recall fails.
		{name: "citizen ringing, last try", channel: "rc-dead-2", tried: 2, status: "failed", result: "interrupted", attempts: 3,
			outcome: "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, monday10)
			ctx := context.Background()
			a, err := w.recalls.Request(ctx, recall.Request{Phone: "+393471000071", Reason: recall.ReasonOutOfHours})
			require.NoError(t, err)
			now := w.clock.Now()
			// The dead instance's dial, as the dialler leaves it: claimed,
			// its record started before the citizen's leg is on record.
			if tc.channel != "" {
				_, err := w.records.Start(ctx, calls.Arrival{ChannelID: tc.channel, Caller: "+393471000071", DID: "800466222", InHours: true},
					now.Add(-time.Minute))
				require.NoError(t, err)
			}
			_, err = w.db.Exec(ctx, `update recall_requests set status = 'dialling', lease_owner = 'dead', agent = 'kim', attempts = $2,
				citizen_channel = nullif($3, ''), lease_until = $4 where id = $1`, a.ID, tc.tried, tc.channel, now.Add(-time.Second))
			require.NoError(t, err)

			// The dead instance's queue entry for it, stale now.
			_, err = w.store.EnterRecall(ctx, queue.RecallEntry{ID: a.ID, Queue: "booking", Lane: queue.LaneOutOfHours, Rank: now,
				Phone: "+393471000071", Reason: "out_of_hours", Requested: now})
			require.NoError(t, err)

			s := recall.NewScheduler(recall.SchedulerConfig{}, w.recalls, w.store, nil, nil, quiet())
			require.NoError(t, s.Tick(ctx))
			r := w.recall(a.ID)
			require.Equal(t, tc.status, r.Status)
			require.Equal(t, tc.attempts, r.Attempts)
			require.Equal(t, tc.result, r.Result)
			waiting := func() bool {
				in, err := w.store.RecallsWaiting(ctx, []int64{a.ID})
				require.NoError(t, err)
				return in[a.ID]
			}
			require.Equal(t, tc.status == "queued", waiting(), "in its queue only when queued")
			if tc.status == "pending" {
				// Due again (brought forward): it enters its queue.
				_, err := w.recalls.Forward(ctx, a.ID)
				require.NoError(t, err)
				require.NoError(t, s.Tick(ctx))
				require.Equal(t, "queued", w.recall(a.ID).Status)
				require.True(t, waiting(), "back in its queue for its next try")
			}
			if tc.outcome == "" {
				require.Zero(t, w.count("select count(*) from calls"))
				return
			}
			var outcome, agent, queue string
			var recallID int64
			var ended bool
			require.NoError(t, w.db.QueryRow(ctx, `select coalesce(outcome::text, ''), ended_at is not null, coalesce(recall_id, 0),
				coalesce(agent, ''), coalesce(queue_name, '') from calls where channel_id = $1`, tc.channel).
				Scan(&outcome, &ended, &recallID, &agent, &queue))
			require.True(t, ended, "the interrupted try's record is ended")
			require.Equal(t, tc.outcome, outcome)
			require.Equal(t, a.ID, recallID)
			require.Equal(t, "kim", agent)
			require.Equal(t, "booking", queue)
		})
	}
}

// A recall an instance paired with an agent and died before claiming
// (queued in PostgreSQL, its queue entry held for an agent since freed)
// enters its queue again; one whose agent is still reserved for it (a
// claim in flight) is left alone.
func TestRecallPairedByADeadInstanceEntersAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// freed: the agent was freed since the pairing (the instance that
		// paired died and its agents were released).
		freed bool
	}{
		// Paired, never claimed, the agent freed: back in its queue.
		{name: "agent freed", freed: true},
		// Paired, the agent still ringing for it: left to its claim.
		{name: "agent still reserved", freed: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, monday10)
			ctx := context.Background()
			a, err := w.recalls.Request(ctx, recall.Request{Phone: "+393471000091", Reason: recall.ReasonOutOfHours})
			require.NoError(t, err)
			s := recall.NewScheduler(recall.SchedulerConfig{Reconcile: 10 * time.Second}, w.recalls, w.store, nil, nil, quiet())
			require.NoError(t, s.Tick(ctx)) // promoted: queued, in its queue
			require.Equal(t, "queued", w.recall(a.ID).Status)
			w.agent("lea", "PJSIP/lea")
			as, ok, err := w.store.Assign(ctx, "booking", w.clock.Now())
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, a.ID, as.RecallID)
			if tc.freed {
				require.NoError(t, w.agents.Release(ctx, as))
			}
			w.clock.Jump(11 * time.Second) // reconcile looks again
			require.NoError(t, s.Tick(ctx))
			places, err := w.store.RecallPlaces(ctx, []int64{a.ID})
			require.NoError(t, err)
			require.Equal(t, tc.freed, places[a.ID] == 1, "waiting in its queue again: %v", places)
		})
	}
}

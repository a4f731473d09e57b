package recall_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	now := time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC)
	svc := recall.NewService(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	opening := now.Add(11 * time.Hour)

	first, err := svc.Request(ctx, recall.Request{Phone: "+393471234567", Reason: recall.ReasonOutOfHours, NotBefore: opening})
	require.NoError(t, err)
	require.False(t, first.Joined)
	require.True(t, opening.Equal(first.NotBefore))

	// The same number again: joins the open request, keeps the earlier
	// queue time.
	again, err := svc.Request(ctx, recall.Request{Phone: "+393471234567", Reason: recall.ReasonWait, QueueEnteredAt: now.Add(-time.Hour)})
	require.NoError(t, err)
	require.True(t, again.Joined)
	require.Equal(t, first.ID, again.ID)
	var n int
	var entered time.Time
	require.NoError(t, db.QueryRow(ctx, "select count(*), min(queue_entered_at) from recall_requests").Scan(&n, &entered))
	require.Equal(t, 1, n)
	require.True(t, now.Add(-time.Hour).Equal(entered))

	tests := []struct {
		name string
		req  recall.Request
	}{
		// A foreign number: recalls are Italian only.
		{"foreign", recall.Request{Phone: "+441632960961", Reason: recall.ReasonWait}},
		// Not E.164.
		{"national form", recall.Request{Phone: "3471234567", Reason: recall.ReasonWait}},
		// Unknown reason.
		{"reason", recall.Request{Phone: "+393471234568", Reason: "because"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Request(ctx, tt.req)
			require.ErrorIs(t, err, recall.ErrInvalidRequest)
		})
	}
	require.NoError(t, db.QueryRow(ctx, "select count(*) from recall_requests").Scan(&n))
	require.Equal(t, 1, n, "refused requests store nothing")
}

// A caller who accepts the two-minute offer keeps the time it entered the
// queue, on a durable wait recall.
func TestKeepPlace(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	svc := recall.NewService(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	entered := now.Add(-2 * time.Minute)
	id, err := svc.KeepPlace(ctx, queue.Ticket{Caller: "+393471234567", Queue: "cancellation"}, entered)
	require.NoError(t, err)
	var reason, q string
	var at time.Time
	require.NoError(t, db.QueryRow(ctx, "select reason::text, queue_name, queue_entered_at from recall_requests where id = $1", id).Scan(&reason, &q, &at))
	require.Equal(t, "wait", reason)
	require.Equal(t, "cancellation", q)
	require.True(t, entered.Equal(at))
	// A withheld number cannot be called back: nothing stored.
	_, err = svc.KeepPlace(ctx, queue.Ticket{Queue: "booking"}, entered)
	require.ErrorIs(t, err, recall.ErrInvalidRequest)
}

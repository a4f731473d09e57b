package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Live is what the wallboard shows of the day so far: the report's figures
// (the same definitions, docs/metrics.md), the open recalls by reason, and
// the SMS that failed today.
type Live struct {
	// Day is the local day the figures count, from its midnight.
	Day     time.Time `json:"day"`
	Figures Figures   `json:"figures"`
	// Pending is the open recalls by reason (wait, out_of_hours); a
	// reason with none is absent.
	Pending   map[string]PendingRecalls `json:"recalls_pending"`
	SMSFailed int64                     `json:"sms_failed"`
}

// PendingRecalls is how many recalls of a reason are open, and when the
// oldest was asked.
type PendingRecalls struct {
	Count  int64     `json:"count"`
	Oldest time.Time `json:"oldest_at"`
}

// Today computes Live for the local day (in loc) of now.
func Today(ctx context.Context, db *pgxpool.Pool, now time.Time, loc *time.Location) (Live, error) {
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	o, err := Options{From: from, To: from.AddDate(0, 0, 1), Location: loc}.withDefaults()
	if err != nil {
		return Live{}, err
	}
	live := Live{Day: from, Figures: Figures{Start: from}, Pending: map[string]PendingRecalls{}}
	rows, err := figures(ctx, db, o, ByPeriod)
	if err != nil {
		return Live{}, err
	}
	if len(rows) == 1 {
		live.Figures = rows[0]
	}
	pending, err := db.Query(ctx, queries.Get("pending_recalls"))
	if err != nil {
		return Live{}, fmt.Errorf("report: pending recalls: %w", err)
	}
	var reason string
	var p PendingRecalls
	if _, err := pgx.ForEachRow(pending, []any{&reason, &p.Count, &p.Oldest}, func() error {
		live.Pending[reason] = p
		return nil
	}); err != nil {
		return Live{}, fmt.Errorf("report: pending recalls: %w", err)
	}
	if err := db.QueryRow(ctx, queries.Get("sms_failed"), args(o, ByPeriod)).Scan(&live.SMSFailed); err != nil {
		return Live{}, fmt.Errorf("report: sms failed: %w", err)
	}
	return live, nil
}

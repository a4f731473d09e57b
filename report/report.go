package report

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/postgres"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries is the package's SQL, one file per statement.
var queries = postgres.LoadQueries(queryFiles, "report")

// Buckets a period can be broken into (Options.By).
const (
	ByPeriod = "period"
	ByDay    = "day"
	ByWeek   = "week"
	ByMonth  = "month"
)

// Defaults of a report's options.
const (
	// DefaultTarget and DefaultWithin: 80 % of the calls answered within
	// 30 s, the staffing target unless told.
	DefaultTarget = 0.8
	DefaultWithin = 30 * time.Second
	// DefaultShortAbandon is SPEC §8's short-abandon threshold.
	DefaultShortAbandon = 5 * time.Second
	// DefaultAHT is the handle time staffing assumes when the period has
	// no answered call to measure it from (the queue's own default).
	DefaultAHT = 4 * time.Minute
	// HalfHour is the staffing interval.
	HalfHour = 30 * time.Minute
)

// Options choose the period and how it is reported.
type Options struct {
	// From and To bound the period [From, To): calls that started in it.
	From, To time.Time
	// By breaks the table into days, ISO weeks or months (ByPeriod, or
	// empty: one row).
	By string
	// Location is where days, weeks, months and half hours are counted
	// (Europe/Rome, the service's hours).
	Location *time.Location
	// ShortAbandon is the short-abandon threshold (0: the default).
	ShortAbandon time.Duration
	// Target and Within are the staffing's service level target (0: the
	// defaults).
	Target float64
	Within time.Duration
	// AHT is the handle time staffing assumes (0: measured, the mean talk
	// time of the answered calls plus WrapUp).
	AHT    time.Duration
	WrapUp time.Duration
}

// withDefaults fills what Options leaves out, and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.By == "" {
		o.By = ByPeriod
	}
	switch o.By {
	case ByPeriod, ByDay, ByWeek, ByMonth:
	default:
		return o, fmt.Errorf("report: by %q: day, week or month", o.By)
	}
	if o.Location == nil {
		return o, errors.New("report: a location is required")
	}
	if !o.From.Before(o.To) {
		return o, fmt.Errorf("report: the period %s – %s is empty", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly))
	}
	if o.ShortAbandon == 0 {
		o.ShortAbandon = DefaultShortAbandon
	}
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Within == 0 {
		o.Within = DefaultWithin
	}
	if !(o.Target > 0 && o.Target < 1) {
		return o, ErrTarget
	}
	return o, nil
}

// Figures is one row of the manager's table (SPEC §8; every figure is
// defined in docs/metrics.md). A ratio with nothing to count is nil.
type Figures struct {
	// Start is when the row's day, week or month starts (From for the
	// first, or for the whole period).
	Start time.Time `json:"start"`
	// Calls is the total: inbound calls and recall tries.
	Calls        int64 `json:"calls"`
	InHours      int64 `json:"in_hours"`
	OutOfHours   int64 `json:"out_of_hours"`
	RecallsMade  int64 `json:"recalls_made"`
	SelfService  int64 `json:"self_service"`
	Queued       int64 `json:"queued"`
	Answered     int64 `json:"answered"`
	Answered30s  int64 `json:"answered_30s"`
	Answered60s  int64 `json:"answered_60s"`
	Abandoned    int64 `json:"abandoned"`
	ShortAbandon int64 `json:"short_abandoned"`
	// RecallAccepted: queued callers who accepted the recall offer.
	RecallAccepted int64 `json:"recall_accepted"`
	Failed         int64 `json:"failed"`
	// Transferred: handed to app_queue, whose end centralino does not see.
	Transferred     int64    `json:"transferred"`
	ServiceLevel30s *float64 `json:"service_level_30s"`
	ServiceLevel60s *float64 `json:"service_level_60s"`
	AbandonedRatio  *float64 `json:"abandoned_ratio"`
	ASASeconds      *float64 `json:"asa_s"`
}

// Recalls are the period's recall figures, counted when they happen.
type Recalls struct {
	// Requested by reason (wait, out_of_hours).
	Requested map[string]int64 `json:"requested"`
	Connected int64            `json:"connected"`
	// MedianToConnectedSeconds: from request to the citizen connected,
	// over the recalls connected in the period (nil: none).
	MedianToConnectedSeconds *float64 `json:"median_to_connected_s"`
	Expired                  int64    `json:"expired"`
}

// HalfHourRow is one half hour of the arrival profile and its staffing.
type HalfHourRow struct {
	// Start is the local time of day the half hour starts ("08:30").
	Start    string `json:"start"`
	Arrivals int64  `json:"arrivals"`
	Queued   int64  `json:"queued"`
	// ArrivalsPerDay and QueuedPerDay are means over the working days.
	ArrivalsPerDay float64 `json:"arrivals_per_day"`
	QueuedPerDay   float64 `json:"queued_per_day"`
	// Staffing is Erlang C's answer for QueuedPerDay calls in the half
	// hour (nil: nobody queued then).
	Staffing *Staffing `json:"staffing,omitempty"`
}

// Report is a period's report.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	By       string    `json:"by"`
	// Rows break the period down (none when By is ByPeriod).
	Rows    []Figures `json:"rows,omitempty"`
	Total   Figures   `json:"total"`
	Recalls Recalls   `json:"recalls"`
	// WorkingDays: local dates with an inbound call in service hours,
	// over which the half hours' means are taken.
	WorkingDays int64         `json:"working_days"`
	HalfHours   []HalfHourRow `json:"half_hours"`
	// Target, WithinSeconds and AHTSeconds are the staffing's
	// assumptions; AHTFrom says where the AHT came from.
	Target        float64 `json:"target"`
	WithinSeconds float64 `json:"within_s"`
	AHTSeconds    float64 `json:"aht_s"`
	AHTFrom       string  `json:"aht_from"`
	ShortAbandonS float64 `json:"short_abandon_s"`
}

// Where a report's AHT comes from (Report.AHTFrom).
const (
	// AHTGiven: Options.AHT.
	AHTGiven = "given"
	// AHTMeasured: the period's mean talk time of the answered calls, plus
	// the wrap-up.
	AHTMeasured = "measured"
	// AHTDefault: no answered call to measure, DefaultAHT.
	AHTDefault = "default"
)

// Build computes the report of a period from the call records and the
// recall requests.
func Build(ctx context.Context, db *pgxpool.Pool, o Options) (Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Report{}, err
	}
	r := Report{From: o.From, To: o.To, TimeZone: o.Location.String(), By: o.By, Target: o.Target,
		WithinSeconds: o.Within.Seconds(), ShortAbandonS: o.ShortAbandon.Seconds()}
	total, err := figures(ctx, db, o, ByPeriod)
	if err != nil {
		return Report{}, err
	}
	if len(total) == 1 {
		r.Total = total[0]
	} else {
		r.Total = Figures{Start: o.From}
	}
	if o.By != ByPeriod {
		if r.Rows, err = figures(ctx, db, o, o.By); err != nil {
			return Report{}, err
		}
	}
	if r.Recalls, err = recalls(ctx, db, o); err != nil {
		return Report{}, err
	}
	if err := r.halfHours(ctx, db, o); err != nil {
		return Report{}, err
	}
	return r, nil
}

// args are the parameters every query of the report takes.
func args(o Options, by string) pgx.NamedArgs {
	return pgx.NamedArgs{"from": o.From, "to": o.To, "tz": o.Location.String(), "by": by, "short_abandon": o.ShortAbandon}
}

func figures(ctx context.Context, db *pgxpool.Pool, o Options, by string) ([]Figures, error) {
	rows, err := db.Query(ctx, queries.Get("figures"), args(o, by))
	if err != nil {
		return nil, fmt.Errorf("report: figures: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Figures, error) {
		var f Figures
		err := row.Scan(&f.Start, &f.Calls, &f.InHours, &f.OutOfHours, &f.RecallsMade, &f.Queued, &f.Answered,
			&f.Answered30s, &f.Answered60s, &f.Abandoned, &f.ShortAbandon, &f.RecallAccepted, &f.Failed, &f.Transferred,
			&f.SelfService, &f.ServiceLevel30s, &f.ServiceLevel60s, &f.AbandonedRatio, &f.ASASeconds)
		f.Start = f.Start.In(o.Location)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("report: figures: %w", err)
	}
	return out, nil
}

func recalls(ctx context.Context, db *pgxpool.Pool, o Options) (Recalls, error) {
	var wait, night int64
	r := Recalls{}
	if err := db.QueryRow(ctx, queries.Get("recalls"), args(o, ByPeriod)).Scan(&wait, &night, &r.Connected,
		&r.MedianToConnectedSeconds, &r.Expired); err != nil {
		return Recalls{}, fmt.Errorf("report: recalls: %w", err)
	}
	r.Requested = map[string]int64{"wait": wait, "out_of_hours": night}
	return r, nil
}

// halfHours is the arrival profile, each half hour staffed by Erlang C
// for its mean queued calls per working day.
func (r *Report) halfHours(ctx context.Context, db *pgxpool.Pool, o Options) error {
	var talk *float64
	if err := db.QueryRow(ctx, queries.Get("handle_time"), args(o, ByPeriod)).Scan(&r.WorkingDays, &talk); err != nil {
		return fmt.Errorf("report: handle time: %w", err)
	}
	aht := o.AHT
	r.AHTFrom = AHTGiven
	switch {
	case aht > 0:
	case talk != nil:
		aht, r.AHTFrom = time.Duration(*talk*float64(time.Second))+o.WrapUp, AHTMeasured
	default:
		aht, r.AHTFrom = DefaultAHT, AHTDefault
	}
	r.AHTSeconds = aht.Seconds()
	rows, err := db.Query(ctx, queries.Get("half_hours"), args(o, ByPeriod))
	if err != nil {
		return fmt.Errorf("report: half hours: %w", err)
	}
	r.HalfHours, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (HalfHourRow, error) {
		var slot int
		var h HalfHourRow
		err := row.Scan(&slot, &h.Arrivals, &h.Queued)
		h.Start = fmt.Sprintf("%02d:%02d", slot/2, slot%2*30)
		return h, err
	})
	if err != nil {
		return fmt.Errorf("report: half hours: %w", err)
	}
	days := max(r.WorkingDays, 1)
	for i := range r.HalfHours {
		h := &r.HalfHours[i]
		h.ArrivalsPerDay, h.QueuedPerDay = float64(h.Arrivals)/float64(days), float64(h.Queued)/float64(days)
		if h.Queued == 0 {
			continue
		}
		s, err := Load{Calls: h.QueuedPerDay, Interval: HalfHour, AHT: aht}.Staff(o.Target, o.Within)
		if err != nil {
			return err
		}
		h.Staffing = &s
	}
	return nil
}

package seed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/booking/seed"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSeedSmall(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, booking.Rome)
	opts := seed.Options{Scale: "small", Start: start, Seed: 7}
	rep, err := seed.Run(ctx, db, opts, quiet)
	require.NoError(t, err)
	require.EqualValues(t, 32, rep.Services)
	require.EqualValues(t, 6, rep.Sites)
	require.Greater(t, rep.Slots, int64(10_000))
	require.Positive(t, rep.Bookings)
	require.Equal(t, rep.Bookings+2_000, rep.Prescriptions)

	// Every generated identifier is well-formed.
	rows, err := db.Query(ctx, "select nre, fiscal_code from prescriptions")
	require.NoError(t, err)
	type pr struct{ nre, cf string }
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pr, error) {
		var p pr
		return p, r.Scan(&p.nre, &p.cf)
	})
	require.NoError(t, err)
	require.Len(t, ps, int(rep.Prescriptions))
	for _, p := range ps {
		require.NoError(t, booking.ValidateNRE(p.nre))
		require.NoError(t, booking.ValidateFiscalCode(p.cf), p.cf)
	}
	numbers, err := db.Query(ctx, "select number from bookings")
	require.NoError(t, err)
	ns, err := pgx.CollectRows(numbers, pgx.RowTo[string])
	require.NoError(t, err)
	for _, n := range ns {
		require.NoError(t, booking.ValidateBookingNumber(n))
	}

	// The free-slot mark agrees with the bookings, both ways.
	var mismatched int
	require.NoError(t, db.QueryRow(ctx, `select count(*) from slots s full join bookings b on b.id = s.booking_id
		where s.booking_id is not null and (b.id is null or b.slot_id <> s.id)
		   or (b.id is not null and s.id is null)`).Scan(&mismatched))
	require.Zero(t, mismatched)
	var booked int64
	require.NoError(t, db.QueryRow(ctx, "select count(*) from slots where booking_id is not null").Scan(&booked))
	require.Equal(t, rep.Bookings, booked)

	// Slots start the next working day, inside service hours, never on
	// Sunday.
	var first time.Time
	var sundays int
	require.NoError(t, db.QueryRow(ctx, `select min(starts_at),
		count(*) filter (where extract(dow from starts_at at time zone 'Europe/Rome') = 0) from slots`).Scan(&first, &sundays))
	require.True(t, first.Equal(time.Date(2026, 3, 3, 8, 0, 0, 0, booking.Rome)), first)
	require.Zero(t, sundays)

	// A second run without reset is refused and changes nothing.
	_, err = seed.Run(ctx, db, opts, quiet)
	require.ErrorIs(t, err, seed.ErrNotEmpty)

	// With reset, the same seed builds the same region.
	var before string
	require.NoError(t, db.QueryRow(ctx, "select md5(string_agg(number || slot_id, ',' order by number)) from bookings").Scan(&before))
	opts.Reset = true
	_, err = seed.Run(ctx, db, opts, quiet)
	require.NoError(t, err)
	var after string
	require.NoError(t, db.QueryRow(ctx, "select md5(string_agg(number || slot_id, ',' order by number)) from bookings").Scan(&after))
	require.Equal(t, before, after)

	// The seeded region serves the booking core: a prescription finds slots.
	svc := booking.NewService(db, booking.Options{Clock: func() time.Time { return start }})
	var nre string
	var birth time.Time
	require.NoError(t, db.QueryRow(ctx, `select nre, birth_date from prescriptions p where priority <> 'U'
		and not exists (select 1 from bookings b where b.prescription_nre = p.nre) order by nre limit 1`).Scan(&nre, &birth))
	av, err := svc.Availability(ctx, nre, birth, booking.ChannelIVR, 3)
	require.NoError(t, err)
	require.NotEmpty(t, av.Slots)
}

func TestSeedRejectsUnknownScale(t *testing.T) {
	t.Parallel()
	_, err := seed.Run(context.Background(), nil, seed.Options{Scale: "huge", Start: time.Now()}, quiet)
	require.ErrorContains(t, err, "scale")
}

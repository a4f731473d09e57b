package sms_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/sms"
)

// A small region whose bookings notify the outbox; now is Monday 2 March
// 2026, 10:00 in Rome.
type region struct {
	db    *pgxpool.Pool
	svc   *booking.Service
	clock *clock
	nre   int
}

func newRegion(t *testing.T) *region {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	for _, sql := range []string{
		`insert into services values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)`,
		`insert into sites (name, short_name, address, city, owner_kind, owner_name) values
			('Ospedale Policlinico San Martino','San Martino','Largo Rosanna Benzi 10','Genova','hospital','IRCCS San Martino')`,
		`insert into agendas (site_id, service_code, name) values (1,'VCARD','Cardiologia San Martino')`,
	} {
		_, err := db.Exec(ctx, sql)
		require.NoError(t, err)
	}
	hours, err := hours.New(hours.Default())
	require.NoError(t, err)
	r := &region{db: db, clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, rome).UTC()}}
	n := sms.Notifier{Outbox: sms.NewOutbox(db), Quiet: sms.Quiet{Loc: rome, From: 9, To: 20, Holidays: hours},
		ReminderDays: 5, NumeroVerde: "800466222"}
	r.svc = booking.NewService(db, booking.Options{Clock: r.clock.Now, Events: n, Log: quiet()})
	return r
}

func (r *region) slot(t *testing.T, at time.Time) int64 {
	var id int64
	require.NoError(t, r.db.QueryRow(context.Background(),
		`insert into slots (agenda_id, service_code, starts_at, ends_at) values (1,'VCARD',$1,$2) returning id`, at, at.Add(20*time.Minute)).Scan(&id))
	return id
}

func (r *region) book(t *testing.T, slot int64, phone string) booking.Booking {
	ctx := context.Background()
	r.nre++
	nre := "070A4" + pad(r.nre)[1:]
	_, err := r.db.Exec(ctx, `insert into prescriptions values ($1,'RSSMRA80A31D969X','1980-01-31','VCARD','D','2026-02-27')`, nre)
	require.NoError(t, err)
	h, err := r.svc.Hold(ctx, slot)
	require.NoError(t, err)
	b, err := r.svc.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: nre, BirthDate: time.Date(1980, 1, 31, 0, 0, 0, 0, time.UTC),
		Phone: phone, Channel: booking.ChannelIVR})
	require.NoError(t, err)
	return b
}

type row struct {
	Kind, Status, Body string
	Due                time.Time
}

func (r *region) messages(t *testing.T, number string) map[string]row {
	rows, err := r.db.Query(context.Background(), "select kind, status::text, body, due_at from sms_outbox where booking_number=$1", number)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]row{}
	for rows.Next() {
		var m row
		require.NoError(t, rows.Scan(&m.Kind, &m.Status, &m.Body, &m.Due))
		out[m.Kind] = m
	}
	return out
}

func TestBookingWritesConfirmationAndReminder(t *testing.T) {
	r := newRegion(t)
	// Friday 13 March 10:30: the reminder falls on Sunday 8 → Monday 9 at 09:00.
	b := r.book(t, r.slot(t, time.Date(2026, 3, 13, 10, 30, 0, 0, rome)), "+393471234567")
	m := r.messages(t, b.Number)
	require.Len(t, m, 2)
	require.True(t, m["confirmation"].Due.Equal(r.clock.Now()), "the confirmation goes at once (in allowed hours)")
	require.True(t, m["reminder"].Due.Equal(time.Date(2026, 3, 9, 9, 0, 0, 0, rome)), "got %s", m["reminder"].Due)
	require.Contains(t, m["reminder"].Body, "ven 13/03 ore 10:30")
	require.Contains(t, m["reminder"].Body, "San Martino")
	require.NotContains(t, m["reminder"].Body, "RSSMRA80A31D969X")
	require.Contains(t, m["confirmation"].Body, b.Number)

	// Exactly five days before, same time, when that is allowed.
	b2 := r.book(t, r.slot(t, time.Date(2026, 3, 16, 11, 0, 0, 0, rome)), "+393471234567")
	require.True(t, r.messages(t, b2.Number)["reminder"].Due.Equal(time.Date(2026, 3, 11, 11, 0, 0, 0, rome)))

	// Booked three days ahead: no reminder; a landline: no message at all.
	b3 := r.book(t, r.slot(t, time.Date(2026, 3, 5, 9, 0, 0, 0, rome)), "+393471234567")
	require.Len(t, r.messages(t, b3.Number), 1)
	b4 := r.book(t, r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome)), "+390102345678")
	require.Empty(t, r.messages(t, b4.Number))
}

func TestCancelWithdrawsAndMoveRetimes(t *testing.T) {
	r := newRegion(t)
	ctx := context.Background()
	birth := time.Date(1980, 1, 31, 0, 0, 0, 0, time.UTC)
	b := r.book(t, r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome)), "+393471234567")
	c, err := r.svc.Cancel(ctx, b.Number, birth)
	require.NoError(t, err)
	m := r.messages(t, b.Number)
	require.Equal(t, "withdrawn", m["reminder"].Status)
	require.Equal(t, "withdrawn", m["confirmation"].Status, "not yet sent: withdrawn too")
	require.Equal(t, "pending", m["cancellation"].Status)
	require.Contains(t, m["cancellation"].Body, c.CancellationCode)

	b = r.book(t, r.slot(t, time.Date(2026, 3, 20, 10, 0, 0, 0, rome)), "+393471234567")
	h, err := r.svc.Hold(ctx, r.slot(t, time.Date(2026, 3, 27, 15, 0, 0, 0, rome)))
	require.NoError(t, err)
	moved, err := r.svc.Move(ctx, b.Number, birth, h.Token, booking.ChannelIVR)
	require.NoError(t, err)
	require.Equal(t, "withdrawn", r.messages(t, b.Number)["reminder"].Status)
	nm := r.messages(t, moved.Number)
	require.Equal(t, "pending", nm["reminder"].Status)
	// 27 March 15:00 less five days is Sunday 22: Monday 23 at 09:00.
	require.True(t, nm["reminder"].Due.Equal(time.Date(2026, 3, 23, 9, 0, 0, 0, rome)), "re-timed: %s", nm["reminder"].Due)
}

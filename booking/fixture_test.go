package booking_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is a Monday, 10:00 in Rome: the fixture's "now".
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, booking.Rome).UTC()

// birth is every fixture patient's birth date.
var birth = time.Date(1980, 1, 31, 0, 0, 0, 0, time.UTC)

// region is a small fixture region: two sites offering a cardiology visit
// (VCARD) and one an abdominal ultrasound (ECOADD), with slots whose start
// times tests choose.
type region struct {
	t     testing.TB
	db    *pgxpool.Pool
	clock *clock
	svc   *booking.Service
	// agendas by key: "card-a" (site A), "card-b" (site B), "eco-a".
	agendas map[string]int64
	nre     int
}

func newRegion(t testing.TB) *region {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	exec(`insert into services values
		('VCARD','Visita cardiologica','Visita cardiologica','visit',20),
		('ECOADD','Ecografia addome completo','Ecografia addome','exam',30)`)
	exec(`insert into sites (name, short_name, address, city, owner_kind, owner_name) values
		('Ospedale Policlinico San Martino','Policlinico San Martino','Largo Rosanna Benzi 10','Genova','hospital','IRCCS San Martino'),
		('Poliambulatorio ASL 3 via Archimede','Poliambulatorio Archimede','Via Archimede 30','Genova','asl','ASL 3 Genovese')`)
	exec(`insert into agendas (site_id, service_code, name) values
		(1,'VCARD','Cardiologia San Martino'), (2,'VCARD','Cardiologia Archimede'), (1,'ECOADD','Ecografia San Martino')`)
	c := &clock{t: t0}
	r := &region{t: t, db: db, clock: c,
		agendas: map[string]int64{"card-a": 1, "card-b": 2, "eco-a": 3}}
	r.svc = booking.NewService(db, booking.Options{Clock: c.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return r
}

// slot adds a slot to an agenda starting at t0 + offset and returns its id.
func (r *region) slot(agenda string, offset time.Duration) int64 {
	r.t.Helper()
	start := t0.Add(offset)
	service := "VCARD"
	if agenda == "eco-a" {
		service = "ECOADD"
	}
	var id int64
	err := r.db.QueryRow(context.Background(),
		`insert into slots (agenda_id, service_code, starts_at, ends_at) values ($1,$2,$3,$4) returning id`,
		r.agendas[agenda], service, start, start.Add(20*time.Minute)).Scan(&id)
	require.NoError(r.t, err)
	return id
}

// prescription adds a prescription for a service and priority and returns
// its NRE.
func (r *region) prescription(service string, p booking.Priority) string {
	r.t.Helper()
	r.nre++
	nre := fmt.Sprintf("070A4%010d", r.nre)
	_, err := r.db.Exec(context.Background(),
		`insert into prescriptions values ($1,'RSSMRA80A31D969X',$2,$3,$4,$5)`,
		nre, birth, service, string(p), t0.AddDate(0, 0, -3))
	require.NoError(r.t, err)
	return nre
}

// book holds a slot and books it for a new prescription, returning the
// booking.
func (r *region) book(slot int64) booking.Booking {
	r.t.Helper()
	ctx := context.Background()
	h, err := r.svc.Hold(ctx, slot)
	require.NoError(r.t, err)
	var service string
	require.NoError(r.t, r.db.QueryRow(ctx, "select service_code from slots where id=$1", slot).Scan(&service))
	b, err := r.svc.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: r.prescription(service, booking.PriorityD),
		BirthDate: birth, Phone: "+393471234567", Channel: booking.ChannelIVR})
	require.NoError(r.t, err)
	return b
}

// count runs a counting query.
func (r *region) count(sql string, args ...any) int {
	r.t.Helper()
	var n int
	require.NoError(r.t, r.db.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// snapshot is every row the booking operations can change, to assert that
// a refused request changed nothing.
func (r *region) snapshot() string {
	r.t.Helper()
	var s string
	err := r.db.QueryRow(context.Background(), `select
		coalesce((select string_agg(format('%s|%s|%s|%s', id, hold_token, held_until, booking_id), ',' order by id) from slots), '') || '#' ||
		coalesce((select string_agg(format('%s|%s|%s|%s|%s', id, number, status, cancellation_code, moved_to), ',' order by id) from bookings), '')`).Scan(&s)
	require.NoError(r.t, err)
	return s
}

package booking_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
)

func rome(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, booking.Rome)
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	req := rome(2026, 3, 2, 10, 0) // Monday 2 March 2026, 10:00
	tests := []struct {
		name string
		p    booking.Priority
		k    booking.Kind
		in   time.Time // must be within
		out  time.Time // first instant beyond
	}{
		// U: exactly 72 hours.
		{"U", booking.PriorityU, booking.KindVisit, req.Add(72 * time.Hour), req.Add(72*time.Hour + time.Nanosecond)},
		// B: the whole 10th day after the request, not the 11th.
		{"B", booking.PriorityB, booking.KindVisit, rome(2026, 3, 12, 23, 59), rome(2026, 3, 13, 0, 0)},
		// D visit: 30 days.
		{"D visit", booking.PriorityD, booking.KindVisit, rome(2026, 4, 1, 23, 59), rome(2026, 4, 2, 0, 0)},
		// D exam: 60 days (and across the DST change of 29 March).
		{"D exam", booking.PriorityD, booking.KindExam, rome(2026, 5, 1, 23, 59), rome(2026, 5, 2, 0, 0)},
		// P: 120 days.
		{"P", booking.PriorityP, booking.KindExam, rome(2026, 6, 30, 23, 59), rome(2026, 7, 1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := booking.Deadline(tt.p, tt.k, req.UTC())
			require.False(t, tt.in.After(d), "%s should be within %s", tt.in, d)
			require.True(t, tt.out.After(d), "%s should be beyond %s", tt.out, d)
		})
	}
}

func TestAvailability(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	_ = r.slot("card-a", 30*time.Minute)       // inside the minimum lead: never offered
	booked := r.slot("card-a", 2*time.Hour)    // taken below
	held := r.slot("card-b", 3*time.Hour)      // held below
	alsoHeld := r.slot("card-b", 4*time.Hour)  // held below
	firstFree := r.slot("card-a", 5*time.Hour) // the first offer while the holds last
	otherSite := r.slot("card-b", 24*time.Hour)
	late := r.slot("card-a", 40*24*time.Hour) // beyond a D visit's 30 days
	_ = r.slot("eco-a", 3*time.Hour)          // another service: never offered

	r.book(booked)
	for _, s := range []int64{held, alsoHeld} {
		_, err := r.svc.Hold(ctx, s)
		require.NoError(t, err)
	}
	nre := r.prescription("VCARD", booking.PriorityD)

	av, err := r.svc.Availability(ctx, nre, birth, booking.ChannelIVR, 5)
	require.NoError(t, err)
	require.Equal(t, "VCARD", av.Service.Code)
	require.Equal(t, []int64{firstFree, otherSite, late}, slotIDs(av.Slots), "held slots are not offered while the holds last")
	require.True(t, av.Slots[0].WithinDeadline)
	require.False(t, av.Slots[2].WithinDeadline, "beyond the deadline is flagged")
	require.Equal(t, "Policlinico San Martino", av.Slots[0].Site.ShortName)

	r.clock.Advance(3 * time.Minute) // both holds expire: an expired hold never blocks
	av, err = r.svc.Availability(ctx, nre, birth, booking.ChannelIVR, 2)
	require.NoError(t, err)
	require.Equal(t, []int64{held, alsoHeld}, slotIDs(av.Slots))

	free, err := r.svc.FreeSlots(ctx, "VCARD", av.Deadline, 2)
	require.NoError(t, err)
	require.Equal(t, []int64{held, alsoHeld}, slotIDs(free), "the same answer without a prescription")

	next, err := r.svc.NextSlots(ctx, alsoHeld, av.Deadline, 10)
	require.NoError(t, err)
	require.Equal(t, []int64{firstFree, otherSite, late}, slotIDs(next))
	require.False(t, next[2].WithinDeadline)
}

func TestAvailabilityOnlyBeyondDeadline(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	// A class B prescription (10 days) when the first slot is in 15 days:
	// the slot is still offered, flagged, so the IVR can say so.
	far := r.slot("card-a", 15*24*time.Hour)
	av, err := r.svc.Availability(context.Background(), r.prescription("VCARD", booking.PriorityB), birth, booking.ChannelIVR, 3)
	require.NoError(t, err)
	require.Equal(t, []int64{far}, slotIDs(av.Slots))
	require.False(t, av.Slots[0].WithinDeadline)
}

func TestPrescriptionRules(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	s := r.slot("card-a", 48*time.Hour)
	used := r.prescription("VCARD", booking.PriorityD)
	h, err := r.svc.Hold(ctx, s)
	require.NoError(t, err)
	_, err = r.svc.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: used, BirthDate: birth, Channel: booking.ChannelAgent})
	require.NoError(t, err)
	urgent := r.prescription("VCARD", booking.PriorityU)

	tests := []struct {
		name string
		nre  string
		date time.Time
		ch   booking.Channel
		want error
	}{
		// No such prescription.
		{"unknown NRE", "070A40000099999", birth, booking.ChannelIVR, booking.ErrPrescriptionNotFound},
		// Someone else's birth date.
		{"wrong birth date", urgent, birth.AddDate(0, 0, 1), booking.ChannelIVR, booking.ErrIdentityMismatch},
		// Already booked once.
		{"used", used, birth, booking.ChannelIVR, booking.ErrPrescriptionUsed},
		// U on a self-service channel goes to an operator.
		{"urgent on IVR", urgent, birth, booking.ChannelIVR, booking.ErrUrgentNotSelfBookable},
		// Malformed NRE: rejected before any lookup.
		{"malformed NRE", "070A4123", birth, booking.ChannelIVR, booking.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.svc.Availability(ctx, tt.nre, tt.date, tt.ch, 3)
			require.ErrorIs(t, err, tt.want)
		})
	}
	// An operator may book U.
	_, err = r.svc.Availability(ctx, urgent, birth, booking.ChannelAgent, 3)
	require.NoError(t, err)
}

func TestHoldExpiresWithClock(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	s := r.slot("card-a", 48*time.Hour)
	first, err := r.svc.Hold(ctx, s)
	require.NoError(t, err)
	require.Equal(t, t0.Add(3*time.Minute), first.ExpiresAt)

	r.clock.Advance(3*time.Minute - time.Second)
	_, err = r.svc.Hold(ctx, s)
	require.ErrorIs(t, err, booking.ErrSlotTaken, "a live hold blocks")

	r.clock.Advance(time.Second)
	second, err := r.svc.Hold(ctx, s)
	require.NoError(t, err, "an expired hold never blocks")

	// The first caller comes back too late.
	_, err = r.svc.Book(ctx, booking.BookRequest{HoldToken: first.Token, NRE: r.prescription("VCARD", booking.PriorityD), BirthDate: birth, Channel: booking.ChannelIVR})
	require.ErrorIs(t, err, booking.ErrHoldExpired)

	// The second releases; the slot is free again at once.
	require.NoError(t, r.svc.ReleaseHold(ctx, second.Token))
	_, err = r.svc.Hold(ctx, s)
	require.NoError(t, err)
}

func TestHoldErrors(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	past := r.slot("card-a", -time.Hour)
	taken := r.slot("card-a", 48*time.Hour)
	r.book(taken)
	_, err := r.svc.Hold(ctx, past)
	require.ErrorIs(t, err, booking.ErrSlotInPast)
	_, err = r.svc.Hold(ctx, taken)
	require.ErrorIs(t, err, booking.ErrSlotTaken)
	_, err = r.svc.Hold(ctx, 999999)
	require.ErrorIs(t, err, booking.ErrSlotNotFound)
}

func TestBookAndCancel(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	s := r.slot("card-a", 48*time.Hour)
	b := r.book(s)
	require.NoError(t, booking.ValidateBookingNumber(b.Number))
	require.Equal(t, booking.StatusBooked, b.Status)
	require.Equal(t, s, b.Slot.ID)
	require.Equal(t, "Visita cardiologica", b.Service.Name)

	got, err := r.svc.Lookup(ctx, b.Number)
	require.NoError(t, err)
	require.Equal(t, b.Number, got.Number)

	before := r.snapshot()
	_, err = r.svc.Cancel(ctx, b.Number, birth.AddDate(1, 0, 0))
	require.ErrorIs(t, err, booking.ErrIdentityMismatch)
	require.Equal(t, before, r.snapshot(), "a refused cancellation changes nothing")

	c, err := r.svc.Cancel(ctx, b.Number, birth)
	require.NoError(t, err)
	require.Equal(t, booking.StatusCancelled, c.Status)
	require.Regexp(t, `^[1-9][0-9]{7}$`, c.CancellationCode)
	// The slot is free at once, and so is the prescription.
	_, err = r.svc.Hold(ctx, s)
	require.NoError(t, err)
	require.Equal(t, 0, r.count("select count(*) from slots where booking_id is not null"))

	_, err = r.svc.Cancel(ctx, b.Number, birth)
	require.ErrorIs(t, err, booking.ErrAlreadyCancelled)
	_, err = r.svc.Cancel(ctx, "100000000009", birth)
	require.ErrorIs(t, err, booking.ErrInvalidInput, "a mistyped number is caught by its check digit")
}

func TestBookRefusals(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	card := r.slot("card-a", 48*time.Hour)
	h, err := r.svc.Hold(ctx, card)
	require.NoError(t, err)
	eco := r.prescription("ECOADD", booking.PriorityD)
	tests := []struct {
		name string
		req  booking.BookRequest
		want error
	}{
		// A cardiology slot for an ultrasound prescription.
		{"service mismatch", booking.BookRequest{HoldToken: h.Token, NRE: eco, BirthDate: birth, Channel: booking.ChannelIVR}, booking.ErrServiceMismatch},
		// A token nobody issued.
		{"unknown hold", booking.BookRequest{HoldToken: uuid.New(), NRE: r.prescription("VCARD", booking.PriorityD), BirthDate: birth, Channel: booking.ChannelIVR}, booking.ErrHoldExpired},
		// A phone number not in E.164.
		{"bad phone", booking.BookRequest{HoldToken: h.Token, NRE: eco, BirthDate: birth, Phone: "347123", Channel: booking.ChannelIVR}, booking.ErrInvalidInput},
		// A channel that does not exist.
		{"bad channel", booking.BookRequest{HoldToken: h.Token, NRE: eco, BirthDate: birth, Channel: "fax"}, booking.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.snapshot()
			_, err := r.svc.Book(ctx, tt.req)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, before, r.snapshot())
		})
	}
}

func TestRaceExactlyOneBookingPerSlot(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	var slots []int64
	for i := range 10 {
		slots = append(slots, r.slot("card-a", 48*time.Hour+time.Duration(i)*20*time.Minute))
	}
	nres := make([]string, 200)
	for i := range nres {
		nres[i] = r.prescription("VCARD", booking.PriorityD)
	}
	var booked, taken atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h, err := r.svc.Hold(ctx, slots[i%10])
			if errors.Is(err, booking.ErrSlotTaken) {
				taken.Add(1)
				return
			}
			if err != nil {
				t.Errorf("hold: %v", err)
				return
			}
			if _, err := r.svc.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: nres[i], BirthDate: birth, Channel: booking.ChannelWeb}); err != nil {
				t.Errorf("book: %v", err)
				return
			}
			booked.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	require.EqualValues(t, 10, booked.Load())
	require.EqualValues(t, 190, taken.Load())
	require.Equal(t, 10, r.count("select count(distinct slot_id) from bookings where status = 'booked'"))
	require.Equal(t, 10, r.count("select count(*) from bookings"))
}

func TestMove(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	oldSlot := r.slot("card-a", 48*time.Hour)
	newSlot := r.slot("card-b", 72*time.Hour)
	b := r.book(oldSlot)

	h, err := r.svc.Hold(ctx, newSlot)
	require.NoError(t, err)
	moved, err := r.svc.Move(ctx, b.Number, birth, h.Token, booking.ChannelIVR)
	require.NoError(t, err)
	require.NotEqual(t, b.Number, moved.Number)
	require.Equal(t, newSlot, moved.Slot.ID)
	require.Equal(t, b.PrescriptionNRE, moved.PrescriptionNRE)

	old, err := r.svc.Lookup(ctx, b.Number)
	require.NoError(t, err)
	require.Equal(t, booking.StatusMoved, old.Status)
	require.Equal(t, moved.Number, old.MovedTo)
	// The old slot is free for others.
	_, err = r.svc.Hold(ctx, oldSlot)
	require.NoError(t, err)
	_, err = r.svc.Move(ctx, b.Number, birth, h.Token, booking.ChannelIVR)
	require.ErrorIs(t, err, booking.ErrAlreadyMoved)
}

func TestMoveIsAtomicWhenNewSlotIsTaken(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	oldSlot := r.slot("card-a", 48*time.Hour)
	newSlot := r.slot("card-b", 72*time.Hour)
	b := r.book(oldSlot)

	// The caller holds the new slot, dawdles past the TTL, and someone else
	// books it meanwhile.
	h, err := r.svc.Hold(ctx, newSlot)
	require.NoError(t, err)
	r.clock.Advance(4 * time.Minute)
	r.book(newSlot)

	before := r.snapshot()
	_, err = r.svc.Move(ctx, b.Number, birth, h.Token, booking.ChannelIVR)
	require.ErrorIs(t, err, booking.ErrHoldExpired)
	require.Equal(t, before, r.snapshot(), "the old booking keeps its slot")
	got, err := r.svc.Lookup(ctx, b.Number)
	require.NoError(t, err)
	require.Equal(t, booking.StatusBooked, got.Status)
	require.Equal(t, oldSlot, got.Slot.ID)

	// A held slot of another service cannot receive the move either.
	eco := r.slot("eco-a", 96*time.Hour)
	h2, err := r.svc.Hold(ctx, eco)
	require.NoError(t, err)
	_, err = r.svc.Move(ctx, b.Number, birth, h2.Token, booking.ChannelIVR)
	require.ErrorIs(t, err, booking.ErrServiceMismatch)
	require.Equal(t, booking.StatusBooked, must(r.svc.Lookup(ctx, b.Number)).Status)
}

func TestAttendance(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	s := r.slot("card-a", 2*time.Hour)
	b := r.book(s)
	_, err := r.svc.MarkAttendance(ctx, b.Number, booking.StatusAttended)
	require.ErrorIs(t, err, booking.ErrNotModifiable, "not before the appointment")
	r.clock.Advance(2 * time.Hour)
	got, err := r.svc.MarkAttendance(ctx, b.Number, booking.StatusNoShow)
	require.NoError(t, err)
	require.Equal(t, booking.StatusNoShow, got.Status)
	_, err = r.svc.MarkAttendance(ctx, b.Number, booking.StatusCancelled)
	require.ErrorIs(t, err, booking.ErrInvalidInput)
	_, err = r.svc.Cancel(ctx, b.Number, birth)
	require.ErrorIs(t, err, booking.ErrNotModifiable, "a past appointment cannot be cancelled")
	// A no-show still holds its slot.
	require.Equal(t, 1, r.count("select count(*) from slots where booking_id is not null"))
}

func TestDatabaseEnforcesInvariants(t *testing.T) {
	t.Parallel()
	// Even code that bypasses the service cannot double-book or reuse a
	// prescription: the schema refuses.
	r := newRegion(t)
	ctx := context.Background()
	s := r.slot("card-a", 48*time.Hour)
	b := r.book(s)
	other := r.prescription("VCARD", booking.PriorityD)
	insert := `insert into bookings (number, slot_id, prescription_nre, fiscal_code, birth_date, channel, created_at, updated_at)
		values ($1, $2, $3, 'RSSMRA80A31D969X', $4, 'agent', now(), now())`
	_, err := r.db.Exec(ctx, insert, "123456789012", s, other, birth)
	require.ErrorContains(t, err, "bookings_active_slot")
	s2 := r.slot("card-a", 49*time.Hour)
	_, err = r.db.Exec(ctx, insert, "123456789013", s2, b.PrescriptionNRE, birth)
	require.ErrorContains(t, err, "bookings_active_prescription")
	_, err = r.db.Exec(ctx, `update bookings set status = 'cancelled' where number = $1`, b.Number)
	require.ErrorContains(t, err, "bookings_check", "a cancellation without its code is refused")
	// The trigger keeps the free-slot mark in step with bookings.
	require.Equal(t, 1, r.count("select count(*) from slots where booking_id is not null"))
}

func slotIDs(slots []booking.Slot) []int64 {
	ids := make([]int64, len(slots))
	for i, s := range slots {
		ids[i] = s.ID
	}
	return ids
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// An agent reads the prescription a caller keyed without the birth date:
// its service, its priority deadline from now, whether it is used; an
// unknown NRE is not found and a malformed one is refused.
func TestLookupPrescription(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	ctx := context.Background()
	nre := r.prescription("ECOADD", booking.PriorityD)
	p, err := r.svc.LookupPrescription(ctx, nre)
	require.NoError(t, err)
	require.Equal(t, "ECOADD", p.Service.Code)
	require.Equal(t, booking.PriorityD, p.Prescription.Priority)
	require.Equal(t, booking.Deadline(booking.PriorityD, booking.KindExam, t0), p.Deadline, "an exam of class D: 60 days from now")
	require.False(t, p.Used)

	b := r.book(r.slot("card-a", 2*time.Hour))
	p, err = r.svc.LookupPrescription(ctx, b.PrescriptionNRE)
	require.NoError(t, err)
	require.True(t, p.Used, "a booked prescription is used")

	_, err = r.svc.LookupPrescription(ctx, "070A49999999999")
	require.ErrorIs(t, err, booking.ErrPrescriptionNotFound)
	_, err = r.svc.LookupPrescription(ctx, "12")
	require.ErrorIs(t, err, booking.ErrInvalidInput)
}

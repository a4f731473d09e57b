package booking_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
)

// The channel of a booking is the credential's: another channel cannot
// book a priority-U prescription (which self-service refuses), by naming
// the agent channel or otherwise; an agent can, it is the agent's work.
func TestChannelIsTheCredentials(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	portal := httptest.NewServer(as(r.svc, aPortal))
	defer portal.Close()
	agent := httptest.NewServer(as(r.svc, anAgent))
	defer agent.Close()
	urgent := r.prescription("VCARD", booking.PriorityU)
	slot := r.slot("card-a", 24*time.Hour)

	code, _ := call(t, portal, "GET", "/api/v1/prescriptions/"+urgent+"/availability?birth_date=1980-01-31&channel=agent", "")
	require.Equal(t, http.StatusBadRequest, code, "a channel cannot name itself")
	code, body := call(t, portal, "GET", "/api/v1/prescriptions/"+urgent+"/availability?birth_date=1980-01-31", "")
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "urgent_not_self_bookable", body["error"])
	_, hold := call(t, portal, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, slot))
	code, body = call(t, portal, "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": %q, "nre": %q, "birth_date": "1980-01-31", "channel": "agent"}`,
		hold["token"], urgent))
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = call(t, portal, "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": %q, "nre": %q, "birth_date": "1980-01-31"}`,
		hold["token"], urgent))
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Zero(t, r.count("select count(*) from bookings"))

	_, hold = call(t, agent, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, r.slot("card-b", 24*time.Hour)))
	code, b := call(t, agent, "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": %q, "nre": %q, "birth_date": "1980-01-31"}`,
		hold["token"], urgent))
	require.Equal(t, http.StatusCreated, code, b)
	require.Equal(t, "agent", b["channel"])
}

// Only agents and managers read a booking by its number alone, and mark
// attendance; another channel gives the citizen's birth date, and a wrong
// one answers as an unknown number.
func TestOtherChannelsNeedTheIdentity(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	b := r.book(r.slot("card-a", 48*time.Hour))
	portal := httptest.NewServer(as(r.svc, aPortal))
	defer portal.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		// Without the birth date: refused.
		{"lookup without identity", "GET", "/api/v1/bookings/" + b.Number, "", http.StatusBadRequest},
		// A wrong one: as if no such booking.
		{"lookup wrong identity", "GET", "/api/v1/bookings/" + b.Number + "?birth_date=1990-01-31", "", http.StatusNotFound},
		// Attendance is the staff's.
		{"attendance", "POST", "/api/v1/bookings/" + b.Number + "/attendance", `{"status": "no_show"}`, http.StatusForbidden},
	}
	for _, tt := range tests {
		before := r.snapshot()
		code, body := call(t, portal, tt.method, tt.path, tt.body)
		require.Equal(t, tt.status, code, "%s: %v", tt.name, body)
		require.Equal(t, before, r.snapshot(), tt.name)
	}
	code, got := call(t, portal, "GET", "/api/v1/bookings/"+b.Number+"?birth_date=1980-01-31", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, b.Number, got["number"])
}

// A client holds at most MaxHolds slots at a time; others are not held
// back by it.
func TestHoldsCappedPerClient(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	portal := httptest.NewServer(as(r.svc, aPortal))
	defer portal.Close()
	counter := httptest.NewServer(as(r.svc, aCounter))
	defer counter.Close()
	for i := range 5 {
		code, body := call(t, portal, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, r.slot("card-a", time.Duration(24+i)*time.Hour)))
		require.Equal(t, http.StatusCreated, code, body)
	}
	sixth := r.slot("card-b", 24*time.Hour)
	before := r.snapshot()
	code, body := call(t, portal, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, sixth))
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "too_many_holds", body["error"])
	require.Equal(t, before, r.snapshot(), "the sixth is not held")
	code, _ = call(t, counter, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, sixth))
	require.Equal(t, http.StatusCreated, code, "another client holds it")
	// Once a hold expires, the client may hold again.
	r.clock.Advance(4 * time.Minute)
	code, _ = call(t, portal, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, r.slot("card-b", 30*time.Hour)))
	require.Equal(t, http.StatusCreated, code)
}

// Wrong identities are limited per booking number and per client: nobody
// tries birth dates one after another, or numbers.
func TestWrongIdentitiesLimited(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	b := r.book(r.slot("card-a", 48*time.Hour))
	other := r.book(r.slot("card-b", 48*time.Hour))
	portal := httptest.NewServer(as(r.svc, aPortal))
	defer portal.Close()
	counter := httptest.NewServer(as(r.svc, aCounter))
	defer counter.Close()
	for i := range 5 {
		code, _ := call(t, portal, "POST", "/api/v1/bookings/"+b.Number+"/cancellation", fmt.Sprintf(`{"birth_date": "1981-01-%02d"}`, i+1))
		require.Equal(t, http.StatusNotFound, code)
	}
	// The right date now: refused all the same, for this number…
	code, body := call(t, counter, "POST", "/api/v1/bookings/"+b.Number+"/cancellation", `{"birth_date": "1980-01-31"}`)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "too_many_tries", body["error"])
	// …and for this client, on any number.
	code, _ = call(t, portal, "POST", "/api/v1/bookings/"+other.Number+"/cancellation", `{"birth_date": "1980-01-31"}`)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, 2, r.count("select count(*) from bookings where status = 'booked'"), "nothing cancelled")
	// Later, the citizen's own cancellation goes through.
	r.clock.Advance(11 * time.Minute)
	code, _ = call(t, counter, "POST", "/api/v1/bookings/"+b.Number+"/cancellation", `{"birth_date": "1980-01-31"}`)
	require.Equal(t, http.StatusOK, code)
}

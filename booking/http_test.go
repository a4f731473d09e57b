package booking_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
)

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	}
	return resp.StatusCode, out
}

// as serves the API to one client, as its credential says.
func as(svc *booking.Service, c booking.Client) http.Handler {
	return svc.Handler(func(*http.Request) (booking.Client, bool) { return c, true })
}

var (
	anAgent  = booking.Client{Name: "anna", Channel: booking.ChannelAgent, Staff: true}
	aPortal  = booking.Client{Name: "portale", Channel: booking.ChannelWeb}
	aCounter = booking.Client{Name: "sportello", Channel: booking.ChannelCounter}
)

func TestHTTPBookingJourney(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	srv := httptest.NewServer(as(r.svc, booking.Client{Name: "ivr-like", Channel: booking.ChannelIVR, Staff: true}))
	defer srv.Close()
	first := r.slot("card-a", 48*time.Hour)
	second := r.slot("card-b", 72*time.Hour)
	nre := r.prescription("VCARD", booking.PriorityD)

	code, av := call(t, srv, "GET", "/api/v1/prescriptions/"+nre+"/availability?birth_date=1980-01-31&limit=2", "")
	require.Equal(t, http.StatusOK, code, av)
	slots := av["slots"].([]any)
	require.Len(t, slots, 2)
	require.EqualValues(t, first, slots[0].(map[string]any)["id"])

	code, hold := call(t, srv, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, first))
	require.Equal(t, http.StatusCreated, code, hold)

	code, b := call(t, srv, "POST", "/api/v1/bookings", fmt.Sprintf(
		`{"hold_token": %q, "nre": %q, "birth_date": "1980-01-31", "phone": "+393471234567"}`, hold["token"], nre))
	require.Equal(t, http.StatusCreated, code, b)
	number := b["number"].(string)
	require.NotContains(t, fmt.Sprint(b), "RSSMRA", "the codice fiscale never leaves through the API")

	code, _ = call(t, srv, "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}`, second))
	require.Equal(t, http.StatusCreated, code)
	code, got := call(t, srv, "GET", "/api/v1/bookings/"+number, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "booked", got["status"])

	code, c := call(t, srv, "POST", "/api/v1/bookings/"+number+"/cancellation", `{"birth_date": "1980-01-31"}`)
	require.Equal(t, http.StatusOK, code, c)
	require.Equal(t, "cancelled", c["status"])
	require.NotEmpty(t, c["cancellation_code"])
}

func TestHTTPBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	r := newRegion(t)
	srv := httptest.NewServer(as(r.svc, anAgent))
	defer srv.Close()
	s := r.slot("card-a", 48*time.Hour)
	b := r.book(r.slot("card-b", 48*time.Hour))
	nre := r.prescription("VCARD", booking.PriorityD)
	unknown, err := booking.NewBookingNumber(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		// Not JSON at all.
		{"garbage body", "POST", "/api/v1/holds", `slot=1`, 400, "invalid_input"},
		// A field the API does not know.
		{"unknown field", "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d, "force": true}`, s), 400, "invalid_input"},
		// Two objects in one body.
		{"trailing data", "POST", "/api/v1/holds", fmt.Sprintf(`{"slot_id": %d}{}`, s), 400, "invalid_input"},
		// Required field missing.
		{"missing slot", "POST", "/api/v1/holds", `{}`, 400, "invalid_input"},
		// A huge body.
		{"oversized", "POST", "/api/v1/holds", `{"slot_id": 1, "x": "` + strings.Repeat("a", 20000) + `"}`, 400, "invalid_input"},
		// No such slot.
		{"unknown slot", "POST", "/api/v1/holds", `{"slot_id": 999999}`, 404, "slot_not_found"},
		// Booking without a birth date.
		{"book without birth date", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": "6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69", "nre": %q}`, nre), 400, "invalid_input"},
		// A date in the wrong format.
		{"book with Italian date", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": "6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69", "nre": %q, "birth_date": "31/01/1980"}`, nre), 400, "invalid_input"},
		// A hold nobody issued.
		{"book unknown hold", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": "6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69", "nre": %q, "birth_date": "1980-01-31"}`, nre), 410, "hold_expired"},
		// A hold token that is not a UUID.
		{"book bad token", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": "abc", "nre": %q, "birth_date": "1980-01-31"}`, nre), 400, "invalid_input"},
		// Availability without identity.
		{"availability without birth date", "GET", "/api/v1/prescriptions/" + nre + "/availability", "", 400, "invalid_input"},
		// Too many slots asked.
		{"availability huge limit", "GET", "/api/v1/prescriptions/" + nre + "/availability?birth_date=1980-01-31&limit=5000", "", 400, "invalid_input"},
		// Unknown prescription.
		{"availability unknown NRE", "GET", "/api/v1/prescriptions/070A49999999999/availability?birth_date=1980-01-31", "", 404, "prescription_not_found"},
		// Malformed booking number: caught by format and check digit.
		{"lookup malformed number", "GET", "/api/v1/bookings/12345", "", 400, "invalid_input"},
		// Well-formed but unknown booking number.
		{"lookup unknown number", "GET", "/api/v1/bookings/" + unknown, "", 404, "booking_not_found"},
		// Cancel with the wrong birth date: answered as an unknown number.
		{"cancel wrong birth date", "POST", "/api/v1/bookings/" + b.Number + "/cancellation", `{"birth_date": "1990-01-31"}`, 404, "booking_not_found"},
		// Cancel an unknown number: alike.
		{"cancel unknown number", "POST", "/api/v1/bookings/" + unknown + "/cancellation", `{"birth_date": "1980-01-31"}`, 404, "booking_not_found"},
		// A birth date in the future: the IVR's own check.
		{"cancel future birth date", "POST", "/api/v1/bookings/" + b.Number + "/cancellation", `{"birth_date": "2999-01-31"}`, 400, "invalid_input"},
		// The request names its channel: the credential's is the one.
		{"availability names a channel", "GET", "/api/v1/prescriptions/" + nre + "/availability?birth_date=1980-01-31&channel=agent", "", 400, "invalid_input"},
		{"book names a channel", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token": "6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69", "nre": %q, "birth_date": "1980-01-31", "channel": "agent"}`, nre), 400, "invalid_input"},
		// Attendance with a state that is not one.
		{"attendance bad status", "POST", "/api/v1/bookings/" + b.Number + "/attendance", `{"status": "cancelled"}`, 400, "invalid_input"},
		// Release a hold with a malformed token.
		{"release bad token", "DELETE", "/api/v1/holds/xyz", "", 400, "invalid_input"},
		// Next slots of a slot id that is not a number.
		{"next bad id", "GET", "/api/v1/slots/abc/next", "", 400, "invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.snapshot()
			code, body := call(t, srv, tt.method, tt.path, tt.body)
			require.Equal(t, tt.status, code, body)
			require.Equal(t, tt.code, body["error"])
			require.NotEmpty(t, body["message"], "every refusal says why")
			require.Equal(t, before, r.snapshot())
		})
	}
}

package booking

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Client is who calls the booking API, as the credential says (SPEC §10).
type Client struct {
	// Name is the credential's: a client's holds are counted by it, and
	// its wrong identities.
	Name string
	// Channel is where its bookings are made: an agent's and a manager's
	// are ChannelAgent, another channel's its own (web, counter,
	// pharmacy). Never the request's.
	Channel Channel
	// Staff (agents, managers) may read a booking by its number alone and
	// mark attendance; other channels give the citizen's birth date.
	Staff bool
}

// Handler serves the booking core's HTTP JSON API under /api/v1/ (see
// openapi.yaml); client tells who asks (false: nobody known, 401). Every
// error is JSON {"error": code, "message": reason} with a 4xx status for
// the caller's mistakes, which change nothing.
func (s *Service) Handler(client func(*http.Request) (Client, bool)) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		serve := rt.serve(s)
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			c, ok := client(r)
			if !ok {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "missing or unknown credential"})
				return
			}
			serve(w, r, c)
		})
	}
	return mux
}

// route serves one API call for a client.
type route func(w http.ResponseWriter, r *http.Request, c Client)

// routes is the API; openapi.yaml documents exactly these (a test checks).
var routes = []struct {
	method, path string
	serve        func(*Service) route
}{
	{"GET", "/api/v1/prescriptions/{nre}/availability", func(s *Service) route { return s.serveAvailability }},
	{"GET", "/api/v1/slots/{id}/next", func(s *Service) route { return s.serveNextSlots }},
	{"POST", "/api/v1/holds", func(s *Service) route { return s.serveHold }},
	{"DELETE", "/api/v1/holds/{token}", func(s *Service) route { return s.serveRelease }},
	{"POST", "/api/v1/bookings", func(s *Service) route { return s.serveBook }},
	{"GET", "/api/v1/bookings/{number}", func(s *Service) route { return s.serveLookup }},
	{"POST", "/api/v1/bookings/{number}/cancellation", func(s *Service) route { return s.serveCancel }},
	{"POST", "/api/v1/bookings/{number}/move", func(s *Service) route { return s.serveMove }},
	{"POST", "/api/v1/bookings/{number}/attendance", func(s *Service) route { return s.serveAttendance }},
}

// maxBody bounds a request body: every request here is a few fields.
const maxBody = 16 << 10

// apiDate is how dates travel in the API (birth dates).
const apiDate = time.DateOnly

func (s *Service) serveAvailability(w http.ResponseWriter, r *http.Request, c Client) {
	qs := r.URL.Query()
	if qs.Has("channel") {
		s.fail(w, r, errChannelGiven)
		return
	}
	birth, err := s.parseBirthDate(qs.Get("birth_date"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := parseLimit(qs.Get("limit"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	av, err := s.Availability(r.Context(), r.PathValue("nre"), birth, c.Channel, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, av)
}

func (s *Service) serveNextSlots(w http.ResponseWriter, r *http.Request, _ Client) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, fmt.Errorf("%w: slot id must be a positive integer", ErrInvalidInput))
		return
	}
	qs := r.URL.Query()
	limit, err := parseLimit(qs.Get("limit"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var deadline time.Time
	if d := qs.Get("deadline"); d != "" {
		if deadline, err = time.Parse(time.RFC3339, d); err != nil {
			s.fail(w, r, fmt.Errorf("%w: deadline must be RFC 3339", ErrInvalidInput))
			return
		}
	}
	slots, err := s.NextSlots(r.Context(), id, deadline, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": slots})
}

func (s *Service) serveHold(w http.ResponseWriter, r *http.Request, c Client) {
	var req struct {
		SlotID int64 `json:"slot_id"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.SlotID <= 0 {
		s.fail(w, r, fmt.Errorf("%w: slot_id must be a positive integer", ErrInvalidInput))
		return
	}
	h, err := s.HoldFor(r.Context(), req.SlotID, c.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, h)
}

func (s *Service) serveRelease(w http.ResponseWriter, r *http.Request, _ Client) {
	token, err := uuid.Parse(r.PathValue("token"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: hold token must be a UUID", ErrInvalidInput))
		return
	}
	if err := s.ReleaseHold(r.Context(), token); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) serveBook(w http.ResponseWriter, r *http.Request, c Client) {
	var req struct {
		HoldToken uuid.UUID `json:"hold_token"`
		NRE       string    `json:"nre"`
		BirthDate string    `json:"birth_date"`
		Phone     string    `json:"phone"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := s.parseBirthDate(req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.Book(r.Context(), BookRequest{HoldToken: req.HoldToken, NRE: req.NRE, BirthDate: birth, Phone: req.Phone, Channel: c.Channel})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Service) serveLookup(w http.ResponseWriter, r *http.Request, c Client) {
	number := r.PathValue("number")
	if c.Staff {
		b, err := s.Lookup(r.Context(), number)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, b)
		return
	}
	// Another channel reads a booking only with the citizen's identity.
	birth, err := s.parseBirthDate(r.URL.Query().Get("birth_date"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.identified(r, c, number, func() (Booking, error) { return s.Identify(r.Context(), number, birth) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// identified runs an operation that proves the citizen's identity (a
// booking number with its birth date). A wrong identity and an unknown
// number answer alike, and are counted against the number and the client:
// past IdentityTries in IdentityWindow, both are refused for a while.
func (s *Service) identified(r *http.Request, c Client, number string, op func() (Booking, error)) (Booking, error) {
	keys := []string{"number:" + number, "client:" + c.Name}
	now := s.now()
	if !s.tries.allowed(now, keys...) {
		return Booking{}, fmt.Errorf("%w: try again later", ErrTooManyTries)
	}
	b, err := op()
	if errors.Is(err, ErrIdentityMismatch) || errors.Is(err, ErrBookingNotFound) {
		s.tries.failed(now, keys...)
		return Booking{}, fmt.Errorf("%w: no booking with that number and birth date", errUnidentified)
	}
	return b, err
}

func (s *Service) serveCancel(w http.ResponseWriter, r *http.Request, c Client) {
	var req struct {
		BirthDate string `json:"birth_date"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := s.parseBirthDate(req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	number := r.PathValue("number")
	b, err := s.identified(r, c, number, func() (Booking, error) { return s.Cancel(r.Context(), number, birth) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Service) serveMove(w http.ResponseWriter, r *http.Request, c Client) {
	var req struct {
		BirthDate string    `json:"birth_date"`
		HoldToken uuid.UUID `json:"hold_token"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := s.parseBirthDate(req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	number := r.PathValue("number")
	b, err := s.identified(r, c, number, func() (Booking, error) { return s.Move(r.Context(), number, birth, req.HoldToken, c.Channel) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Service) serveAttendance(w http.ResponseWriter, r *http.Request, c Client) {
	if !c.Staff {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden", "message": "attendance is marked by agents and managers"})
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	b, err := s.MarkAttendance(r.Context(), r.PathValue("number"), Status(req.Status))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// decode reads a JSON body strictly: one object, known fields only.
func (s *Service) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body must hold a single JSON object")
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: malformed JSON body: %v", ErrInvalidInput, err))
		return false
	}
	return true
}

// parseBirthDate reads a birth date YYYY-MM-DD and checks it as the IVR
// does (ValidateBirthDate: a real date, past, not before 1900).
func (s *Service) parseBirthDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%w: birth_date is required (YYYY-MM-DD)", ErrInvalidInput)
	}
	t, err := time.Parse(apiDate, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: birth_date must be a date YYYY-MM-DD", ErrInvalidInput)
	}
	return ValidateBirthDate(t.Format("02012006"), s.now())
}

var (
	// errChannelGiven: a request named its channel, which is its
	// credential's.
	errChannelGiven = fmt.Errorf("%w: the channel is the credential's, not the request's", ErrInvalidInput)
	// errUnidentified answers a wrong birth date and an unknown booking
	// number alike: nobody learns which numbers exist.
	errUnidentified = errors.New("booking not identified")
)

func parseLimit(v string) (int, error) {
	if v == "" {
		return 5, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: limit must be an integer", ErrInvalidInput)
	}
	return n, nil
}

// httpError maps each booking error to a status and a stable code that
// clients branch on.
var httpErrors = []struct {
	err    error
	status int
	code   string
}{
	{ErrInvalidInput, http.StatusBadRequest, "invalid_input"},
	{ErrPrescriptionNotFound, http.StatusNotFound, "prescription_not_found"},
	{errUnidentified, http.StatusNotFound, "booking_not_found"},
	{ErrBookingNotFound, http.StatusNotFound, "booking_not_found"},
	{ErrTooManyTries, http.StatusTooManyRequests, "too_many_tries"},
	{ErrTooManyHolds, http.StatusTooManyRequests, "too_many_holds"},
	{ErrSlotNotFound, http.StatusNotFound, "slot_not_found"},
	{ErrServiceNotFound, http.StatusNotFound, "service_not_found"},
	{ErrIdentityMismatch, http.StatusUnprocessableEntity, "identity_mismatch"},
	{ErrPrescriptionUsed, http.StatusConflict, "prescription_used"},
	{ErrUrgentNotSelfBookable, http.StatusUnprocessableEntity, "urgent_not_self_bookable"},
	{ErrServiceMismatch, http.StatusUnprocessableEntity, "service_mismatch"},
	{ErrSlotInPast, http.StatusUnprocessableEntity, "slot_in_past"},
	{ErrNotModifiable, http.StatusUnprocessableEntity, "not_modifiable"},
	{ErrSlotTaken, http.StatusConflict, "slot_taken"},
	{ErrAlreadyCancelled, http.StatusConflict, "already_cancelled"},
	{ErrAlreadyMoved, http.StatusConflict, "already_moved"},
	{ErrHoldExpired, http.StatusGone, "hold_expired"},
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	for _, e := range httpErrors {
		if errors.Is(err, e.err) {
			// The route's pattern is logged, never its path (booking
			// numbers, NREs), query string or body (birth dates).
			s.log.Info("api request refused", "method", r.Method, "route", r.Pattern, "reason", e.code)
			writeJSON(w, e.status, map[string]string{"error": e.code, "message": err.Error()})
			return
		}
	}
	s.log.Error("api request failed", "method", r.Method, "route", r.Pattern, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "internal error"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here means the client went away: nothing to do.
	_ = json.NewEncoder(w).Encode(v)
}

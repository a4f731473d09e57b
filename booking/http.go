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

// Handler serves the booking core's HTTP JSON API under /api/v1/ (see
// openapi.yaml). Every error is JSON {"error": code, "message": reason}
// with a 4xx status for the caller's mistakes, which change nothing.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, rt.serve(s))
	}
	return mux
}

// routes is the API; openapi.yaml documents exactly these (a test checks).
var routes = []struct {
	method, path string
	serve        func(*Service) http.HandlerFunc
}{
	{"GET", "/api/v1/prescriptions/{nre}/availability", func(s *Service) http.HandlerFunc { return s.serveAvailability }},
	{"GET", "/api/v1/slots/{id}/next", func(s *Service) http.HandlerFunc { return s.serveNextSlots }},
	{"POST", "/api/v1/holds", func(s *Service) http.HandlerFunc { return s.serveHold }},
	{"DELETE", "/api/v1/holds/{token}", func(s *Service) http.HandlerFunc { return s.serveRelease }},
	{"POST", "/api/v1/bookings", func(s *Service) http.HandlerFunc { return s.serveBook }},
	{"GET", "/api/v1/bookings/{number}", func(s *Service) http.HandlerFunc { return s.serveLookup }},
	{"POST", "/api/v1/bookings/{number}/cancellation", func(s *Service) http.HandlerFunc { return s.serveCancel }},
	{"POST", "/api/v1/bookings/{number}/move", func(s *Service) http.HandlerFunc { return s.serveMove }},
	{"POST", "/api/v1/bookings/{number}/attendance", func(s *Service) http.HandlerFunc { return s.serveAttendance }},
}

// maxBody bounds a request body: every request here is a few fields.
const maxBody = 16 << 10

// apiDate is how dates travel in the API (birth dates).
const apiDate = time.DateOnly

func (s *Service) serveAvailability(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	birth, err := parseDate("birth_date", qs.Get("birth_date"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch := ChannelAgent
	if c := qs.Get("channel"); c != "" {
		if ch, err = ParseChannel(c); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	limit, err := parseLimit(qs.Get("limit"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	av, err := s.Availability(r.Context(), r.PathValue("nre"), birth, ch, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, av)
}

func (s *Service) serveNextSlots(w http.ResponseWriter, r *http.Request) {
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

func (s *Service) serveHold(w http.ResponseWriter, r *http.Request) {
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
	h, err := s.Hold(r.Context(), req.SlotID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, h)
}

func (s *Service) serveRelease(w http.ResponseWriter, r *http.Request) {
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

func (s *Service) serveBook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		HoldToken uuid.UUID `json:"hold_token"`
		NRE       string    `json:"nre"`
		BirthDate string    `json:"birth_date"`
		Phone     string    `json:"phone"`
		Channel   string    `json:"channel"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := parseDate("birth_date", req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch, err := ParseChannel(req.Channel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.Book(r.Context(), BookRequest{HoldToken: req.HoldToken, NRE: req.NRE, BirthDate: birth, Phone: req.Phone, Channel: ch})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Service) serveLookup(w http.ResponseWriter, r *http.Request) {
	b, err := s.Lookup(r.Context(), r.PathValue("number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Service) serveCancel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		BirthDate string `json:"birth_date"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := parseDate("birth_date", req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.Cancel(r.Context(), r.PathValue("number"), birth)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Service) serveMove(w http.ResponseWriter, r *http.Request) {
	var req struct {
		BirthDate string    `json:"birth_date"`
		HoldToken uuid.UUID `json:"hold_token"`
		Channel   string    `json:"channel"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	birth, err := parseDate("birth_date", req.BirthDate)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch, err := ParseChannel(req.Channel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.Move(r.Context(), r.PathValue("number"), birth, req.HoldToken, ch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Service) serveAttendance(w http.ResponseWriter, r *http.Request) {
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

func parseDate(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%w: %s is required (YYYY-MM-DD)", ErrInvalidInput, field)
	}
	t, err := time.Parse(apiDate, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s must be a date YYYY-MM-DD", ErrInvalidInput, field)
	}
	return t, nil
}

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
	{ErrBookingNotFound, http.StatusNotFound, "booking_not_found"},
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
			// The path is logged, never the query string or body (birth dates).
			s.log.Info("api request refused", "method", r.Method, "path", r.URL.Path, "reason", e.code)
			writeJSON(w, e.status, map[string]string{"error": e.code, "message": err.Error()})
			return
		}
	}
	s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "internal error"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here means the client went away: nothing to do.
	_ = json.NewEncoder(w).Encode(v)
}

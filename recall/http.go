package recall

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/queue"
)

// Role is who asks the recall API: agents see the list with the numbers
// masked; managers see them whole and cancel or bring recalls forward.
type Role string

// Roles.
const (
	RoleAgent   Role = "agent"
	RoleManager Role = "manager"
)

// Places is the queue as the recall service changes it (queue.Store):
// where queued recalls stand, one brought to the head of its lane, one
// taken out.
type Places interface {
	RecallPlaces(ctx context.Context, ids []int64) (map[int64]int, error)
	Forward(ctx context.Context, id int64) (bool, error)
	DropRecall(ctx context.Context, id int64) error
}

var _ Places = (*queue.Store)(nil)

// Handler is the recall API (under /api/v1/recalls):
//
//	GET  /api/v1/recalls               the open recalls, first served first
//	POST /api/v1/recalls/{id}/cancel   (manager) close one not being dialled
//	POST /api/v1/recalls/{id}/forward  (manager) first in its queue, due now
//
// role names who asks (false: unauthenticated, 401). Refusals are JSON
// {"error": "..."}: 400 a malformed id, 403 an agent changing a recall, 404
// no such recall, 409 one being dialled or over.
func (s *Service) Handler(role func(*http.Request) (Role, bool)) http.Handler {
	mux := http.NewServeMux()
	as := func(need Role, h func(w http.ResponseWriter, r *http.Request, who Role)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			who, ok := role(r)
			switch {
			case !ok:
				writeError(w, http.StatusUnauthorized, "missing or unknown credential")
			case need == RoleManager && who != RoleManager:
				writeError(w, http.StatusForbidden, "managers only")
			default:
				h(w, r, who)
			}
		}
	}
	mux.HandleFunc("GET /api/v1/recalls", as(RoleAgent, func(w http.ResponseWriter, r *http.Request, who Role) {
		open, err := s.List(r.Context())
		if err != nil {
			s.log.Error("listing recalls", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		for i := range open {
			if who != RoleManager {
				open[i].Phone = pii.MaskPhone(open[i].Phone)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"recalls": open})
	}))
	mux.HandleFunc("POST /api/v1/recalls/{id}/cancel", as(RoleManager, func(w http.ResponseWriter, r *http.Request, _ Role) {
		id, ok := recallID(w, r)
		if !ok {
			return
		}
		if err := s.Cancel(r.Context(), id); err != nil {
			s.refuse(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/v1/recalls/{id}/forward", as(RoleManager, func(w http.ResponseWriter, r *http.Request, _ Role) {
		id, ok := recallID(w, r)
		if !ok {
			return
		}
		if _, err := s.Forward(r.Context(), id); err != nil {
			s.refuse(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return mux
}

func recallID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "recall id must be a positive number")
		return 0, false
	}
	return id, true
}

func (s *Service) refuse(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such recall")
	case errors.Is(err, ErrNotOpen):
		writeError(w, http.StatusConflict, "the recall is being dialled or is over")
	default:
		s.log.Error("changing a recall", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

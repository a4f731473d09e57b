package queue

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/centralino-cup/centralino/pii"
)

// Handler is the agent desktop's API (under /api/v1/agent):
//
//	GET  /api/v1/agent          state, reason, since, and the current call
//	POST /api/v1/agent/login    {"queues":["booking"]}
//	POST /api/v1/agent/ready
//	POST /api/v1/agent/pause    {"reason":"pausa pranzo"}
//	POST /api/v1/agent/logout
//
// agentOf names the agent a request comes from (its credential; false:
// 401), phoneOf the phone configured for an agent: an agent logs in on
// its own phone, never one it names. Refusals are JSON {"error": code,
// "message": reason} with 400, 401, 403, 404 or 409; a failure of Redis is
// a 500.
func (s *Service) Handler(agentOf func(*http.Request) (string, bool), phoneOf func(agent string) (string, bool),
	onReady func(ctx context.Context, queues []string)) http.Handler {
	mux := http.NewServeMux()
	auth := func(h func(w http.ResponseWriter, r *http.Request, agent string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			agent, ok := agentOf(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "unauthorized", "missing or unknown credential")
				return
			}
			h(w, r, agent)
		}
	}
	mux.HandleFunc("GET /api/v1/agent", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		a, err := s.store.Agent(r.Context(), agent)
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		type call struct {
			CallInfo
			WaitedSeconds int `json:"waited_s"`
		}
		out := struct {
			Agent  string     `json:"agent"`
			State  AgentState `json:"state"`
			Reason string     `json:"reason,omitempty"`
			Since  time.Time  `json:"since"`
			Queues []string   `json:"queues"`
			Call   *call      `json:"call,omitempty"`
		}{agent, a.State, a.Reason, a.Since.UTC(), a.Queues, nil}
		if a.CallID != "" && (a.State == Ringing || a.State == Busy) {
			if c, err := s.store.Call(r.Context(), a.CallID); err == nil {
				if c.Recall {
					// The agent does not dial the recall: the number
					// stays masked on the screen.
					c.Caller = pii.MaskPhone(c.Caller)
				}
				out.Call = &call{c, int(a.Since.Sub(c.Entered).Seconds())}
			}
		}
		writeJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("POST /api/v1/agent/login", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		var body struct {
			Queues []string `json:"queues"`
		}
		if !decode(w, r, &body) {
			return
		}
		phone, ok := phoneOf(agent)
		if !ok {
			writeError(w, http.StatusForbidden, "no_phone", "no phone is configured for this agent")
			return
		}
		s.respond(w, r, s.Login(r.Context(), agent, phone, body.Queues))
	}))
	mux.HandleFunc("POST /api/v1/agent/ready", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		err := s.Ready(r.Context(), agent)
		if err == nil && onReady != nil {
			if a, aerr := s.store.Agent(r.Context(), agent); aerr == nil {
				onReady(r.Context(), a.Queues)
			}
		}
		s.respond(w, r, err)
	}))
	mux.HandleFunc("POST /api/v1/agent/pause", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		var body struct {
			Reason string `json:"reason"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.respond(w, r, s.Pause(r.Context(), agent, body.Reason))
	}))
	mux.HandleFunc("POST /api/v1/agent/logout", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		s.respond(w, r, s.Logout(r.Context(), agent))
	}))
	return mux
}

func (s *Service) respond(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_input", "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// writeErr answers an error: the caller's mistakes with their reason, a
// refused change of state as a conflict, anything else (Redis failing) as
// a 500 that says nothing of Redis.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_input", err.Error())
	case errors.Is(err, ErrUnknownAgent):
		writeError(w, http.StatusNotFound, "not_logged_in", "agent not logged in")
	case errors.Is(err, ErrTransition):
		writeError(w, http.StatusConflict, "not_allowed", err.Error())
	case errors.Is(err, ErrUnregistered):
		writeError(w, http.StatusConflict, "phone_unregistered", err.Error())
	default:
		s.log.Error("agent desktop request failed", "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

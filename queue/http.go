package queue

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/centralino-cup/centralino/pii"
)

// Tokens maps an agent desktop's bearer token to its agent id.
type Tokens map[string]string

// ParseTokens reads "agent=token,agent=token" (CENTRALINO_AGENT_TOKENS).
func ParseTokens(s string) (Tokens, error) {
	t := Tokens{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		agent, token, ok := strings.Cut(pair, "=")
		if !ok || agent == "" || len(token) < 16 {
			return nil, errors.New("agent tokens are agent=token pairs, tokens of at least 16 characters")
		}
		t[token] = agent
	}
	return t, nil
}

// Who is the name a request's bearer token stands for.
func (t Tokens) Who(r *http.Request) (string, bool) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	for token, agent := range t {
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return agent, true
		}
	}
	return "", false
}

// Handler is the agent desktop's API (under /api/v1/agent):
//
//	GET  /api/v1/agent          state, reason, since, and the current call
//	POST /api/v1/agent/login    {"endpoint":"PJSIP/anna","queues":["booking"]}
//	POST /api/v1/agent/ready
//	POST /api/v1/agent/pause    {"reason":"pausa pranzo"}
//	POST /api/v1/agent/logout
//
// Every request carries "Authorization: Bearer <token>"; the token names
// the agent. Refusals are JSON {"error": "..."} with 400, 401, 404 or 409.
func (s *Service) Handler(tokens Tokens, onReady func(ctx context.Context, queues []string)) http.Handler {
	mux := http.NewServeMux()
	auth := func(h func(w http.ResponseWriter, r *http.Request, agent string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			agent, ok := tokens.Who(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "missing or unknown bearer token")
				return
			}
			h(w, r, agent)
		}
	}
	mux.HandleFunc("GET /api/v1/agent", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		a, err := s.store.Agent(r.Context(), agent)
		if err != nil {
			writeErr(w, err)
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
			Endpoint string   `json:"endpoint"`
			Queues   []string `json:"queues"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.respond(w, s.Login(r.Context(), agent, body.Endpoint, body.Queues))
	}))
	mux.HandleFunc("POST /api/v1/agent/ready", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		err := s.Ready(r.Context(), agent)
		if err == nil && onReady != nil {
			if a, aerr := s.store.Agent(r.Context(), agent); aerr == nil {
				onReady(r.Context(), a.Queues)
			}
		}
		s.respond(w, err)
	}))
	mux.HandleFunc("POST /api/v1/agent/pause", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		var body struct {
			Reason string `json:"reason"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.respond(w, s.Pause(r.Context(), agent, body.Reason))
	}))
	mux.HandleFunc("POST /api/v1/agent/logout", auth(func(w http.ResponseWriter, r *http.Request, agent string) {
		s.respond(w, s.Logout(r.Context(), agent))
	}))
	return mux
}

func (s *Service) respond(w http.ResponseWriter, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

func writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnknownAgent):
		writeError(w, http.StatusNotFound, "agent not logged in")
	case errors.Is(err, ErrTransition):
		writeError(w, http.StatusConflict, err.Error())
	default:
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

package sms

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/centralino-cup/centralino/clock"
)

// StatusHandler takes Twilio's status callbacks. publicURL is the URL
// Twilio calls (what it signs); a forged or missing signature gets 403 and
// changes nothing.
func (o *Outbox) StatusHandler(v Verifier, publicURL string, now clock.Clock, log *slog.Logger) http.Handler {
	now = clock.Must(now, "sms status webhook")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, ok := signedForm(w, r, v, publicURL, log)
		if !ok {
			return
		}
		sid, status := params["MessageSid"], params["MessageStatus"]
		if sid == "" || status == "" {
			http.Error(w, "MessageSid and MessageStatus are required", http.StatusBadRequest)
			return
		}
		code, _ := strconv.Atoi(params["ErrorCode"])
		if _, err := o.Status(r.Context(), sid, status, code, now()); err != nil {
			log.Error("recording sms status", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// signedForm reads a Twilio webhook: a POSTed form whose
// X-Twilio-Signature signs publicURL and its parameters. On false the
// answer (405, 400 or 403) is written and nothing may change.
func signedForm(w http.ResponseWriter, r *http.Request, v Verifier, publicURL string, log *slog.Logger) (map[string]string, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return nil, false
	}
	params := map[string]string{}
	for k, vs := range r.PostForm {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	if !v.Valid(publicURL, params, r.Header.Get("X-Twilio-Signature")) {
		log.Warn("twilio webhook with a bad signature refused", "path", r.URL.Path)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return nil, false
	}
	return params, true
}

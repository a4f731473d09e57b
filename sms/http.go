package sms

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// StatusHandler takes Twilio's status callbacks. publicURL is the URL
// Twilio calls (what it signs); a forged or missing signature gets 403 and
// changes nothing.
func (o *Outbox) StatusHandler(v Verifier, publicURL string, clock func() time.Time, log *slog.Logger) http.Handler {
	if clock == nil {
		clock = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		params := map[string]string{}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
		if !v.Valid(publicURL, params, r.Header.Get("X-Twilio-Signature")) {
			log.Warn("sms status callback with a bad signature refused")
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		sid, status := params["MessageSid"], params["MessageStatus"]
		if sid == "" || status == "" {
			http.Error(w, "MessageSid and MessageStatus are required", http.StatusBadRequest)
			return
		}
		code, _ := strconv.Atoi(params["ErrorCode"])
		if _, err := o.Status(r.Context(), sid, status, code, clock()); err != nil {
			log.Error("recording sms status", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

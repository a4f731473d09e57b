package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/pii"
)

// Canceller cancels bookings (booking.Service).
type Canceller interface {
	Lookup(ctx context.Context, number string) (booking.Booking, error)
	Cancel(ctx context.Context, number string, birthDate time.Time) (booking.Booking, error)
}

var _ Canceller = (*booking.Service)(nil)

// Reply words: what a citizen may answer (upper case, without
// punctuation). Twilio's own opt-out and opt-in words are honoured too.
var (
	cancelWords = map[string]bool{"ANNULLA": true, "ANNULLARE": true, "ANNULLO": true, "ANNULLATE": true,
		"DISDICI": true, "DISDIRE": true, "DISDETTA": true}
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// keyword is the reply's first word, upper case, letters only.
func keyword(body string) string {
	f := strings.FieldsFunc(strings.ToUpper(body), func(r rune) bool { return !unicode.IsLetter(r) })
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// OptedOut reports whether a number replied STOP.
func (o *Outbox) OptedOut(ctx context.Context, phone string) (bool, error) {
	var out bool
	err := o.db.QueryRow(ctx, queries.Get("opted_out"), pgx.NamedArgs{"phone": phone}).Scan(&out)
	return out, err
}

// Reply handles a citizen's reply: ANNULLA cancels the booking of the last
// reminder that reached the number (the cancellation SMS with its code
// follows through the outbox); STOP opts the number out, START back in.
// It returns what was done ("cancelled", "opted_out", "opted_in",
// "ignored").
func (o *Outbox) Reply(ctx context.Context, bookings Canceller, from, body string, now time.Time) (string, error) {
	word := keyword(body)
	switch {
	case stopWords[word]:
		_, err := o.db.Exec(ctx, queries.Get("optout"), pgx.NamedArgs{"phone": from, "now": now})
		return "opted_out", err
	case startWords[word]:
		_, err := o.db.Exec(ctx, queries.Get("optin"), pgx.NamedArgs{"phone": from})
		return "opted_in", err
	case cancelWords[word]:
		var number string
		err := o.db.QueryRow(ctx, queries.Get("last_reminder"), pgx.NamedArgs{"phone": from}).Scan(&number)
		if errors.Is(err, pgx.ErrNoRows) {
			return "ignored", nil
		}
		if err != nil {
			return "", fmt.Errorf("finding the reminded booking: %w", err)
		}
		b, err := bookings.Lookup(ctx, number)
		if err != nil {
			return "", err
		}
		// Owning the phone the reminder went to identifies the citizen.
		if _, err := bookings.Cancel(ctx, number, b.BirthDate); err != nil {
			if errors.Is(err, booking.ErrAlreadyCancelled) || errors.Is(err, booking.ErrAlreadyMoved) || errors.Is(err, booking.ErrNotModifiable) {
				return "ignored", nil
			}
			return "", err
		}
		return "cancelled", nil
	}
	return "ignored", nil
}

// InboundHandler takes replies (Twilio's incoming-message webhook at
// publicURL); a forged or missing signature gets 403 and changes nothing.
// It answers an empty TwiML: replies go through the outbox.
func (o *Outbox) InboundHandler(v Verifier, publicURL string, bookings Canceller, now clock.Clock, log *slog.Logger) http.Handler {
	now = clock.Must(now, "sms inbound webhook")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, ok := signedForm(w, r, v, publicURL, log)
		if !ok {
			return
		}
		if params["From"] == "" {
			http.Error(w, "From is required", http.StatusBadRequest)
			return
		}
		done, err := o.Reply(r.Context(), bookings, params["From"], params["Body"], now())
		if err != nil {
			log.Error("handling sms reply", "phone", pii.Phone(params["From"]), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		log.Info("sms reply", "phone", pii.Phone(params["From"]), "result", done)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	})
}

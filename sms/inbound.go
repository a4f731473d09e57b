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
	"github.com/centralino-cup/centralino/startstop"
)

// Canceller finds and cancels bookings (booking.Service).
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

// words are the reply's words, upper case, letters and digits only.
func words(body string) []string {
	return strings.FieldsFunc(strings.ToUpper(body), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// OptedOut reports whether a number replied STOP.
func (o *Outbox) OptedOut(ctx context.Context, phone string) (bool, error) {
	var out bool
	err := o.db.QueryRow(ctx, queries.Get("opted_out"), pgx.NamedArgs{"phone": phone}).Scan(&out)
	return out, err
}

// Inbox keeps the citizens' replies (SPEC §6): every one is stored, once
// by its MessageSid, before anything is done with it, and answered 200;
// then it is acted on from the table, on any instance, with retries. A
// replayed webhook finds its MessageSid taken and changes nothing; a
// failure while acting loses nothing.
type Inbox struct {
	outbox      *Outbox
	bookings    Canceller
	numeroVerde string
	owner       string
	now         clock.Clock
	log         *slog.Logger
	loop        startstop.Loop
	kick        chan struct{}
}

// NewInbox builds the inbox; owner names this instance among those
// processing replies; numeroVerde is what a reply with nothing to cancel
// gives to call.
func NewInbox(outbox *Outbox, bookings Canceller, numeroVerde, owner string, now clock.Clock, log *slog.Logger) *Inbox {
	return &Inbox{outbox: outbox, bookings: bookings, numeroVerde: numeroVerde, owner: owner, now: clock.Must(now, "sms inbox"),
		log: log.With("component", "sms", "part", "inbox"), kick: make(chan struct{}, 1)}
}

// Handler takes replies (Twilio's incoming-message webhook at publicURL):
// a forged or missing signature gets 403 and changes nothing; a reply is
// stored and answered with an empty TwiML (answers go through the
// outbox), then acted on by the processor.
func (i *Inbox) Handler(v Verifier, publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, ok := signedForm(w, r, v, publicURL, i.log)
		if !ok {
			return
		}
		sid, from := params["MessageSid"], params["From"]
		if sid == "" || from == "" {
			http.Error(w, "MessageSid and From are required", http.StatusBadRequest)
			return
		}
		stored, err := i.Store(r.Context(), sid, from, params["Body"], i.now())
		if err != nil {
			i.log.Error("storing an sms reply", "phone", pii.Phone(from), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if !stored {
			i.log.Warn("sms reply replayed: ignored", "message_sid", sid)
		}
		select {
		case i.kick <- struct{}{}: // act on it now
		default:
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	})
}

// Store keeps a reply; stored=false when its MessageSid was there already.
func (i *Inbox) Store(ctx context.Context, sid, from, body string, now time.Time) (bool, error) {
	var id int64
	err := i.outbox.db.QueryRow(ctx, queries.Get("inbound_store"), pgx.NamedArgs{"sid": sid, "phone": from, "body": body, "now": now}).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storing sms reply: %w", err)
	}
	return true, nil
}

// Start acts on the stored replies until Stop: at once when one comes,
// and every second for those left (a failure, another instance's).
func (i *Inbox) Start(ctx context.Context) error {
	if _, err := i.loop.Begin(ctx); err != nil {
		return fmt.Errorf("sms inbox: %w", err)
	}
	i.loop.Go(func(ctx context.Context) error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if _, err := i.Process(ctx); err != nil && ctx.Err() == nil {
				i.log.Error("acting on sms replies", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-i.kick:
			case <-t.C:
			}
		}
	})
	return nil
}

// Stop ends the processor and waits for the reply in hand.
func (i *Inbox) Stop() { i.loop.Stop() }

// replyTries is how often acting on a reply is tried before it is given
// up (logged); replyLease how long a processor holds one.
const (
	replyTries = 10
	replyLease = time.Minute
)

// Process acts on the replies due, and returns how many it took.
func (i *Inbox) Process(ctx context.Context) (int, error) {
	now := i.now()
	rows, err := i.outbox.db.Query(ctx, queries.Get("inbound_claim"), pgx.NamedArgs{"owner": i.owner, "lease_until": now.Add(replyLease),
		"now": now, "n": 20})
	if err != nil {
		return 0, fmt.Errorf("claiming sms replies: %w", err)
	}
	type reply struct {
		id               int64
		sid, phone, body string
		attempts         int
	}
	todo, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (reply, error) {
		var r reply
		return r, row.Scan(&r.id, &r.sid, &r.phone, &r.body, &r.attempts)
	})
	if err != nil {
		return 0, fmt.Errorf("claiming sms replies: %w", err)
	}
	for _, r := range todo {
		log := i.log.With("message_sid", r.sid, "phone", pii.Phone(r.phone))
		result, err := i.act(ctx, r.sid, r.phone, r.body, now)
		if err != nil && r.attempts < replyTries {
			log.Error("acting on an sms reply: retried later", "err", err, "try", r.attempts)
			if _, err := i.outbox.db.Exec(ctx, queries.Get("inbound_later"), pgx.NamedArgs{"id": r.id, "owner": i.owner,
				"at": now.Add(time.Duration(r.attempts) * 10 * time.Second)}); err != nil {
				return len(todo), err
			}
			continue
		}
		if err != nil {
			log.Error("acting on an sms reply: given up", "err", err)
			result = "failed"
		}
		if _, err := i.outbox.db.Exec(ctx, queries.Get("inbound_done"), pgx.NamedArgs{"id": r.id, "owner": i.owner, "now": now,
			"result": result}); err != nil {
			return len(todo), fmt.Errorf("recording an sms reply: %w", err)
		}
		log.Info("sms reply", "result", result)
	}
	return len(todo), nil
}

// act does what a reply asks and says what it did: cancelled,
// none_to_cancel, opted_out, opted_in, ignored. ANNULLA cancels the
// booking of the last confirmation or reminder sent to the number (by send
// time) that is still active; "ANNULLA <numero prenotazione>" that one,
// if a message about it was sent to the number. The cancellation code
// follows through the outbox; with nothing to cancel the citizen is told
// so, with the numero verde.
func (i *Inbox) act(ctx context.Context, sid, from, body string, now time.Time) (string, error) {
	w := words(body)
	if len(w) == 0 {
		return "ignored", nil
	}
	db := i.outbox.db
	switch {
	case stopWords[w[0]]:
		_, err := db.Exec(ctx, queries.Get("optout"), pgx.NamedArgs{"phone": from, "now": now})
		return "opted_out", err
	case startWords[w[0]]:
		_, err := db.Exec(ctx, queries.Get("optin"), pgx.NamedArgs{"phone": from})
		return "opted_in", err
	case !cancelWords[w[0]]:
		return "ignored", nil
	}
	// A number after the word names the booking: only that one, never
	// another in its stead.
	named := ""
	if len(w) > 1 && strings.Trim(w[1], "0123456789") == "" {
		named = w[1]
	}
	rows, err := db.Query(ctx, queries.Get("sent_bookings"), pgx.NamedArgs{"phone": from})
	if err != nil {
		return "", fmt.Errorf("finding the bookings messaged: %w", err)
	}
	sent, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("finding the bookings messaged: %w", err)
	}
	for _, number := range sent {
		if named != "" && number != named {
			continue
		}
		b, err := i.bookings.Lookup(ctx, number)
		if err != nil {
			return "", err
		}
		if b.Status != booking.StatusBooked || !b.Slot.StartsAt.After(now) {
			if named != "" {
				break // the one named is no longer active
			}
			continue // over: the one sent before, if any
		}
		// Owning the phone the message went to identifies the citizen.
		if _, err := i.bookings.Cancel(ctx, number, b.BirthDate); err != nil {
			if errors.Is(err, booking.ErrAlreadyCancelled) || errors.Is(err, booking.ErrAlreadyMoved) || errors.Is(err, booking.ErrNotModifiable) {
				continue
			}
			return "", err
		}
		return "cancelled", nil
	}
	text := fmt.Sprintf("CUP: nessuna prenotazione da annullare. Per informazioni chiami il %s", spaced(i.numeroVerde))
	if _, err := i.outbox.Enqueue(ctx, db, Message{Kind: NothingToCancel, Reply: sid, Phone: from, Body: text, Due: now}, now); err != nil {
		if errors.Is(err, ErrInvalid) {
			return "none_to_cancel", nil // not a mobile: no answer can go
		}
		return "", err
	}
	return "none_to_cancel", nil
}

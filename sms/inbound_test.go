package sms_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

// replies is a region with the webhooks, a sender and the inbox.
type replies struct {
	*region
	t       *testing.T
	outbox  *sms.Outbox
	standin *twiliostandin.Server
	sender  *sms.Sender
	inbox   *sms.Inbox
	inbound string
	sids    int
}

const citizen = "+393471234567"

func newReplies(t *testing.T, bookings sms.Canceller) *replies {
	r := &replies{region: newRegion(t), t: t}
	if bookings == nil {
		bookings = r.svc
	}
	r.outbox = sms.NewOutbox(r.db)
	r.standin = twiliostandin.New(accountSID, authToken)
	api := httptest.NewServer(r.standin)
	t.Cleanup(api.Close)
	hooks := httptest.NewServer(nil)
	t.Cleanup(hooks.Close)
	status := hooks.URL + "/webhooks/twilio/status"
	r.inbound = hooks.URL + "/webhooks/twilio/inbound"
	v := sms.NewVerifier(authToken)
	r.inbox = sms.NewInbox(r.outbox, bookings, "800466222", "i1", r.clock.Now, quiet())
	mux := http.NewServeMux()
	mux.Handle("/webhooks/twilio/status", r.outbox.StatusHandler(v, status, r.clock.Now, quiet()))
	mux.Handle("/webhooks/twilio/inbound", r.inbox.Handler(v, r.inbound))
	hooks.Config.Handler = mux
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: api.URL, AccountSID: accountSID, AuthToken: authToken, From: "CUP", StatusCallback: status})
	require.NoError(t, err)
	r.sender = sms.NewSender(sms.SenderConfig{Owner: "s1"}, r.outbox, tw, r.clock.Now, prometheus.NewRegistry(), quiet())
	return r
}

// reply posts a citizen's reply with a MessageSid of its own (sid "": a
// new one), signed unless signature says otherwise, and has the inbox act
// on it.
func (r *replies) reply(body, sid, signature string) int {
	r.t.Helper()
	if sid == "" {
		r.sids++
		sid = fmt.Sprintf("SM%032d", r.sids)
	}
	params := map[string]string{"From": citizen, "To": "CUP", "Body": body, "MessageSid": sid}
	if signature == "sign" {
		signature = twiliostandin.Sign(authToken, r.inbound, params)
	}
	code := postForm(r.t, r.inbound, params, signature)
	_, err := r.inbox.Process(context.Background())
	require.NoError(r.t, err)
	return code
}

func (r *replies) send() int {
	r.t.Helper()
	n, err := r.sender.Tick(context.Background())
	require.NoError(r.t, err)
	return n
}

func (r *replies) status(number string) string {
	b, err := r.svc.Lookup(context.Background(), number)
	require.NoError(r.t, err)
	return string(b.Status)
}

func TestRepliesAnnullaStopStart(t *testing.T) {
	r := newReplies(t, nil)
	ctx := context.Background()
	slot := r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome))
	b := r.book(t, slot, citizen)
	// The reminder goes on Monday 16 at 09:00.
	r.clock.t = time.Date(2026, 3, 16, 9, 0, 0, 0, rome).UTC()
	require.Equal(t, 2, r.send(), "confirmation and reminder")

	var booked int
	slotBooked := func() int {
		require.NoError(t, r.db.QueryRow(ctx, "select count(*) from slots where id=$1 and booking_id is not null", slot).Scan(&booked))
		return booked
	}
	// A forged reply changes nothing.
	require.Equal(t, http.StatusForbidden, r.reply("ANNULLA", "", ""))
	require.Equal(t, http.StatusForbidden, r.reply("ANNULLA", "", "forged"))
	require.Equal(t, 1, slotBooked())

	// "annulla." cancels the reminded booking and frees the slot; the
	// cancellation code follows by SMS.
	require.Equal(t, http.StatusOK, r.reply(" annulla.", "", "sign"))
	require.Equal(t, 0, slotBooked())
	cancelled, err := r.svc.Lookup(ctx, b.Number)
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(cancelled.Status))
	require.Equal(t, 1, r.send())
	var sentCode bool
	for _, m := range r.standin.Messages() {
		if strings.Contains(m.Body, cancelled.CancellationCode) {
			sentCode = true
		}
	}
	require.True(t, sentCode, "the cancellation code is sent back")
	// A second ANNULLA finds nothing more to cancel, and says so.
	require.Equal(t, http.StatusOK, r.reply("ANNULLA", "", "sign"))
	require.Equal(t, 1, r.send())
	last := r.standin.Messages()[len(r.standin.Messages())-1]
	require.Equal(t, "CUP: nessuna prenotazione da annullare. Per informazioni chiami il 800 466 222", last.Body)

	// STOP: nothing more is sent to the number; START: again.
	require.Equal(t, http.StatusOK, r.reply("Stop", "", "sign"))
	b2 := r.book(t, r.slot(t, time.Date(2026, 4, 2, 9, 0, 0, 0, rome)), citizen)
	before := len(r.standin.Messages())
	r.send()
	require.Equal(t, before, len(r.standin.Messages()), "opted out")
	var st string
	require.NoError(t, r.db.QueryRow(ctx, "select status::text from sms_outbox where booking_number=$1 and kind='confirmation'", b2.Number).Scan(&st))
	require.Equal(t, "failed", st)
	require.Equal(t, http.StatusOK, r.reply("START", "", "sign"))
	out, err := r.outbox.OptedOut(ctx, citizen)
	require.NoError(t, err)
	require.False(t, out)
}

// A reply replayed (the same MessageSid, a month later) changes nothing:
// not even the citizen's new booking.
func TestReplayedAnnullaChangesNothing(t *testing.T) {
	r := newReplies(t, nil)
	first := r.book(t, r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome)), citizen)
	r.send()
	require.Equal(t, http.StatusOK, r.reply("ANNULLA", "SMcaptured000000000000000000000001", "sign"))
	require.Equal(t, "cancelled", r.status(first.Number))

	r.clock.t = r.clock.t.AddDate(0, 1, 0)
	second := r.book(t, r.slot(t, time.Date(2026, 5, 20, 9, 0, 0, 0, rome)), citizen)
	r.send()
	require.Equal(t, http.StatusOK, r.reply("ANNULLA", "SMcaptured000000000000000000000001", "sign"), "answered, as Twilio expects")
	require.Equal(t, "booked", r.status(second.Number), "the replay cancelled nothing")
	var n int
	require.NoError(t, r.db.QueryRow(context.Background(), "select count(*) from sms_inbound").Scan(&n))
	require.Equal(t, 1, n, "stored once")
}

// With two bookings, ANNULLA cancels the one whose message was sent last,
// whatever the order of the delivery receipts; ANNULLA <numero> the one
// named.
func TestAnnullaPicksTheLastSent(t *testing.T) {
	r := newReplies(t, nil)
	ctx := context.Background()
	older := r.book(t, r.slot(t, time.Date(2026, 3, 25, 9, 0, 0, 0, rome)), citizen)
	r.send() // older's confirmation
	r.clock.t = r.clock.t.Add(time.Hour)
	newer := r.book(t, r.slot(t, time.Date(2026, 3, 26, 9, 0, 0, 0, rome)), citizen)
	r.send() // newer's confirmation, an hour later
	// The older message's receipt comes last: it must not decide.
	r.clock.t = r.clock.t.Add(time.Hour)
	_, err := r.db.Exec(ctx, "update sms_outbox set status = 'delivered', updated_at = $1 where booking_number = $2", r.clock.Now(), older.Number)
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, r.reply("ANNULLA", "", "sign"))
	require.Equal(t, "cancelled", r.status(newer.Number))
	require.Equal(t, "booked", r.status(older.Number))

	third := r.book(t, r.slot(t, time.Date(2026, 3, 27, 9, 0, 0, 0, rome)), citizen)
	r.send()
	require.Equal(t, http.StatusOK, r.reply("ANNULLA "+older.Number, "", "sign"))
	require.Equal(t, "cancelled", r.status(older.Number), "the one named")
	require.Equal(t, "booked", r.status(third.Number))
	// A number never messaged to this phone cancels nothing.
	require.Equal(t, http.StatusOK, r.reply("annulla 123456789012", "", "sign"))
	require.Equal(t, "booked", r.status(third.Number))
}

// flaky fails its first cancellations, as a database error would.
type flaky struct {
	sms.Canceller
	fail atomic.Int32
}

func (f *flaky) Cancel(ctx context.Context, number string, birth time.Time) (booking.Booking, error) {
	if f.fail.Add(-1) >= 0 {
		return booking.Booking{}, errors.New("connection reset")
	}
	return f.Canceller.Cancel(ctx, number, birth)
}

// A reply that meets a failure is kept and acted on later: nothing is lost.
func TestReplyRetriedAfterAFailure(t *testing.T) {
	f := &flaky{}
	r := newReplies(t, f)
	f.Canceller = r.svc
	f.fail.Store(1)
	b := r.book(t, r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome)), citizen)
	r.send()
	require.Equal(t, http.StatusOK, r.reply("ANNULLA", "", "sign"), "stored and answered despite the failure")
	require.Equal(t, "booked", r.status(b.Number))
	r.clock.t = r.clock.t.Add(15 * time.Second)
	_, err := r.inbox.Process(context.Background())
	require.NoError(t, err)
	require.Equal(t, "cancelled", r.status(b.Number), "acted on at the retry")
}

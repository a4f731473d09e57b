package sms_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

func TestRepliesAnnullaStopStart(t *testing.T) {
	r := newRegion(t)
	ctx := context.Background()
	outbox := sms.NewOutbox(r.db)
	standin := twiliostandin.New(accountSID, authToken)
	api := httptest.NewServer(standin)
	defer api.Close()
	hooks := httptest.NewServer(nil)
	defer hooks.Close()
	status, inbound := hooks.URL+"/webhooks/twilio/status", hooks.URL+"/webhooks/twilio/inbound"
	v := sms.NewVerifier(authToken)
	mux := http.NewServeMux()
	mux.Handle("/webhooks/twilio/status", outbox.StatusHandler(v, status, r.clock.Now, quiet()))
	mux.Handle("/webhooks/twilio/inbound", outbox.InboundHandler(v, inbound, r.svc, r.clock.Now, quiet()))
	hooks.Config.Handler = mux
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: api.URL, AccountSID: accountSID, AuthToken: authToken, From: "CUP", StatusCallback: status})
	require.NoError(t, err)
	sender := sms.NewSender(sms.SenderConfig{Owner: "s1"}, outbox, tw, r.clock.Now, prometheus.NewRegistry(), quiet())
	const phone = "+393471234567"

	slot := r.slot(t, time.Date(2026, 3, 20, 9, 0, 0, 0, rome))
	b := r.book(t, slot, phone)
	// The reminder goes on Monday 16 at 09:00.
	r.clock.t = time.Date(2026, 3, 16, 9, 0, 0, 0, rome).UTC()
	n, err := sender.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "confirmation and reminder")

	reply := func(body, signature string) int {
		params := map[string]string{"From": phone, "To": "CUP", "Body": body, "MessageSid": "SMin1"}
		if signature == "sign" {
			signature = twiliostandin.Sign(authToken, inbound, params)
		}
		return postForm(t, inbound, params, signature)
	}
	var booked int
	slotBooked := func() int {
		require.NoError(t, r.db.QueryRow(ctx, "select count(*) from slots where id=$1 and booking_id is not null", slot).Scan(&booked))
		return booked
	}
	// A forged reply changes nothing.
	require.Equal(t, http.StatusForbidden, reply("ANNULLA", ""))
	require.Equal(t, http.StatusForbidden, reply("ANNULLA", "forged"))
	require.Equal(t, 1, slotBooked())

	// "annulla." cancels the reminded booking and frees the slot; the
	// cancellation code follows by SMS.
	require.Equal(t, http.StatusOK, reply(" annulla.", "sign"))
	require.Equal(t, 0, slotBooked())
	cancelled, err := r.svc.Lookup(ctx, b.Number)
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(cancelled.Status))
	n, err = sender.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var sentCode bool
	for _, m := range standin.Messages() {
		if strings.Contains(m.Body, cancelled.CancellationCode) {
			sentCode = true
		}
	}
	require.True(t, sentCode, "the cancellation code is sent back")
	// A second ANNULLA finds nothing more to cancel.
	require.Equal(t, http.StatusOK, reply("ANNULLA", "sign"))

	// STOP: nothing more is sent to the number; START: again.
	require.Equal(t, http.StatusOK, reply("Stop", "sign"))
	b2 := r.book(t, r.slot(t, time.Date(2026, 4, 2, 9, 0, 0, 0, rome)), phone)
	before := len(standin.Messages())
	_, err = sender.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, before, len(standin.Messages()), "opted out")
	var st string
	require.NoError(t, r.db.QueryRow(ctx, "select status::text from sms_outbox where booking_number=$1 and kind='confirmation'", b2.Number).Scan(&st))
	require.Equal(t, "failed", st)
	require.Equal(t, http.StatusOK, reply("START", "sign"))
	out, err := outbox.OptedOut(ctx, phone)
	require.NoError(t, err)
	require.False(t, out)
}

package sms_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

const (
	accountSID = "AC00000000000000000000000000000001"
	authToken  = "testauthtokennotasecret000000000"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type rig struct {
	db      *pgxpool.Pool
	outbox  *sms.Outbox
	standin *twiliostandin.Server
	tw      *sms.Twilio
	clock   *clock
	hook    string
	reg     *prometheus.Registry
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{db: pgtest.NewDB(t), standin: twiliostandin.New(accountSID, authToken), clock: &clock{t: time.Now().UTC()}}
	r.reg = prometheus.NewRegistry()
	r.outbox = sms.NewOutbox(r.db).Register(r.reg)
	api := httptest.NewServer(r.standin)
	t.Cleanup(api.Close)
	hooks := httptest.NewServer(nil)
	t.Cleanup(hooks.Close)
	r.hook = hooks.URL + "/webhooks/twilio/status"
	hooks.Config.Handler = r.outbox.StatusHandler(sms.NewVerifier(authToken), r.hook, r.clock.Now, quiet())
	var err error
	r.tw, err = sms.NewTwilio(sms.TwilioConfig{BaseURL: api.URL, AccountSID: accountSID, AuthToken: authToken,
		From: "CUP", StatusCallback: r.hook})
	require.NoError(t, err)
	return r
}

func (r *rig) sender(owner string) *sms.Sender {
	return sms.NewSender(sms.SenderConfig{Owner: owner}, r.outbox, r.tw, r.clock.Now, prometheus.NewRegistry(), quiet())
}

func (r *rig) enqueue(t *testing.T, number, phone string) {
	t.Helper()
	_, err := r.outbox.Enqueue(context.Background(), r.db, sms.Message{Kind: sms.Reminder, BookingNumber: number,
		Phone: phone, Body: "CUP: promemoria " + number, Due: r.clock.Now()}, r.clock.Now())
	require.NoError(t, err)
}

func (r *rig) status(t *testing.T, number string) (string, *int) {
	t.Helper()
	var st string
	var code *int
	require.NoError(t, r.db.QueryRow(context.Background(),
		"select status::text, error_code from sms_outbox where booking_number=$1", number).Scan(&st, &code))
	return st, code
}

func (r *rig) waitStatus(t *testing.T, number, want string) {
	t.Helper()
	require.Eventually(t, func() bool { st, _ := r.status(t, number); return st == want }, 5*time.Second, 20*time.Millisecond,
		"message %s never became %s", number, want)
}

func TestSenderErrorPaths(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	cases := map[string]twiliostandin.Behaviour{
		"100000000001": twiliostandin.Deliver,
		"100000000002": twiliostandin.TooManyReqs,
		"100000000003": twiliostandin.OptedOut,
		"100000000004": twiliostandin.Landline,
		"100000000005": twiliostandin.Unreachable,
		"100000000006": twiliostandin.AcceptThen500,
		"100000000007": twiliostandin.ServerError,
	}
	i := 0
	phones := map[string]string{}
	for number, b := range cases {
		i++
		phone := "+3934700000" + string(rune('0'+i)) + "0"
		phones[number] = phone
		r.standin.On(phone, b)
		r.enqueue(t, number, phone)
	}
	s := r.sender("s1")
	n, err := s.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 7, n)

	r.waitStatus(t, "100000000001", "delivered")
	st, code := r.status(t, "100000000002")
	require.Equal(t, "pending", st, "429: later")
	require.Equal(t, 20429, *code)
	st, code = r.status(t, "100000000003")
	require.Equal(t, "failed", st)
	require.Equal(t, 21610, *code)
	var optedOut int
	require.NoError(t, r.db.QueryRow(ctx, "select count(*) from sms_optouts where phone=$1", phones["100000000003"]).Scan(&optedOut))
	require.Equal(t, 1, optedOut)
	st, code = r.status(t, "100000000004")
	require.Equal(t, "failed", st, "a landline is not retried")
	require.Equal(t, 21614, *code)
	r.waitStatus(t, "100000000005", "failed") // undelivered 30003 by callback
	st, _ = r.status(t, "100000000006")
	require.Equal(t, "pending", st, "a 500 is retried...")
	st, _ = r.status(t, "100000000007")
	require.Equal(t, "pending", st)

	// Nothing is due before the backoff ends.
	n, err = s.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	r.standin.On(phones["100000000002"], twiliostandin.Deliver)
	r.standin.On(phones["100000000007"], twiliostandin.Deliver)
	r.clock.Advance(31 * time.Second)
	n, err = s.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	// ...but the one Twilio had accepted before its 500 is found, not sent
	// again.
	r.waitStatus(t, "100000000006", "accepted")
	r.waitStatus(t, "100000000002", "delivered")
	r.waitStatus(t, "100000000007", "delivered")
	count := map[string]int{}
	for _, m := range r.standin.Messages() {
		count[m.To]++
	}
	require.Equal(t, 1, count[phones["100000000006"]], "never sent twice")
	require.Zero(t, count[phones["100000000003"]])
	require.Zero(t, count[phones["100000000004"]])
}

// Two sender instances on one outbox send each message once; a sender
// that dies between Twilio's acceptance and recording it does not cause a
// second message.
func TestTwoSendersSendEachMessageOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const total = 300
	for i := range total {
		r.enqueue(t, "2"+pad(i), "+393470"+pad(i)[5:])
	}
	var wg sync.WaitGroup
	for _, owner := range []string{"s1", "s2"} {
		s := r.sender(owner)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.Tick(ctx)
				if err != nil || n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range r.standin.Messages() {
		seen[m.To+m.Body]++
	}
	require.Len(t, seen, total)
	for k, n := range seen {
		require.Equal(t, 1, n, k)
	}

	// A sender claims, Twilio accepts, the sender dies before recording:
	// the message comes back after the lease and is found, not resent.
	r.enqueue(t, "399999999999", "+393479999999")
	got, err := r.outbox.Claim(ctx, "dead", r.clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	_, err = r.tw.Send(ctx, got[0].Phone, got[0].Body)
	require.NoError(t, err)
	r.clock.Advance(61 * time.Second)
	n, err := r.sender("s3").Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r.waitStatus(t, "399999999999", "delivered")
	count := 0
	for _, m := range r.standin.Messages() {
		if m.To == "+393479999999" {
			count++
		}
	}
	require.Equal(t, 1, count)
}

func pad(i int) string {
	s := "00000000000" + strconv.Itoa(i)
	return s[len(s)-11:]
}

func TestStatusWebhook(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.enqueue(t, "500000000001", "+393471111111")
	n, err := r.sender("s1").Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r.waitStatus(t, "500000000001", "delivered")
	var sid string
	require.NoError(t, r.db.QueryRow(ctx, "select message_sid from sms_outbox").Scan(&sid))

	post := func(params map[string]string, signature string) int { return postForm(t, r.hook, params, signature) }
	failed := map[string]string{"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30003"}
	// Forged or missing signature: 403, nothing changes.
	require.Equal(t, http.StatusForbidden, post(failed, ""))
	require.Equal(t, http.StatusForbidden, post(failed, twiliostandin.Sign("another-token", r.hook, failed)))
	st, _ := r.status(t, "500000000001")
	require.Equal(t, "delivered", st)
	// Signed: a final failure after delivery is recorded...
	require.Equal(t, http.StatusNoContent, post(failed, twiliostandin.Sign(authToken, r.hook, failed)))
	st, code := r.status(t, "500000000001")
	require.Equal(t, "failed", st)
	require.Equal(t, 30003, *code)
	// ...and a late or repeated "delivered" does not overwrite it.
	delivered := map[string]string{"MessageSid": sid, "MessageStatus": "delivered"}
	require.Equal(t, http.StatusNoContent, post(delivered, twiliostandin.Sign(authToken, r.hook, delivered)))
	require.Equal(t, http.StatusNoContent, post(delivered, twiliostandin.Sign(authToken, r.hook, delivered)))
	st, _ = r.status(t, "500000000001")
	require.Equal(t, "failed", st)
	// Counted once each: the delivery, then the failure.
	mfs, err := r.reg.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "centralino_sms_status_total" {
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if v := m.GetCounter().GetValue(); v > 0 {
					counts[labels["kind"]+"/"+labels["status"]] = v
				}
			}
		}
	}
	require.Equal(t, map[string]float64{"reminder/delivered": 1, "reminder/failed": 1}, counts)
}

// The stand-in signs like Twilio: Twilio's published vector.
func TestStandinSignsLikeTwilio(t *testing.T) {
	params := map[string]string{"Digits": "1234", "CallSid": "CA1234567890ABCDE", "To": "+18005551212",
		"Caller": "+14158675309", "From": "+14158675309"}
	require.Equal(t, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", twiliostandin.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params))
}

// postForm posts a webhook form with a signature ("" for none) and
// returns the answer's status.
func postForm(t *testing.T, hook string, params map[string]string, signature string) int {
	t.Helper()
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(v.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// Quiet hours are checked when a message is sent: a reminder (or a
// retry, or a backlog) due at night waits for 09:00, unsent and with no
// attempt counted; what the citizen has just asked for goes at once.
func TestQuietHoursCheckedWhenSent(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.clock.Set(time.Date(2026, 3, 3, 22, 30, 0, 0, rome)) // Tuesday night
	enqueue := func(k sms.Kind, number string) {
		_, err := r.outbox.Enqueue(ctx, r.db, sms.Message{Kind: k, BookingNumber: number, Phone: "+393471234567",
			Body: "CUP: " + string(k) + " " + number, Due: r.clock.Now()}, r.clock.Now())
		require.NoError(t, err)
	}
	enqueue(sms.Reminder, "200000000001")
	enqueue(sms.Confirmation, "200000000002")
	enqueue(sms.Cancellation, "200000000003")
	_, err := r.outbox.Enqueue(ctx, r.db, sms.Message{Kind: sms.RecallPrealert, Recall: 7, Phone: "+393471234567",
		Body: "Il CUP la richiamerà a breve", Due: r.clock.Now()}, r.clock.Now())
	require.NoError(t, err)
	s := sms.NewSender(sms.SenderConfig{Owner: "s1", Quiet: sms.Quiet{Loc: rome, From: 9, To: 20}}, r.outbox, r.tw, r.clock.Now,
		prometheus.NewRegistry(), quiet())
	n, err := s.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Len(t, r.standin.Messages(), 3, "the confirmation, the cancellation and the pre-alert went at once")
	st, _ := r.status(t, "200000000001")
	require.Equal(t, "pending", st)
	var next time.Time
	var attempts int
	require.NoError(t, r.db.QueryRow(ctx, "select next_attempt_at, attempts from sms_outbox where booking_number = '200000000001'").
		Scan(&next, &attempts))
	require.True(t, next.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, rome)), "deferred to 09:00, got %s", next)
	require.Zero(t, attempts, "a deferral is no attempt")
	// Nothing more at 08:59; the reminder at 09:00.
	r.clock.Set(time.Date(2026, 3, 4, 8, 59, 0, 0, rome))
	n, err = s.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	r.clock.Set(time.Date(2026, 3, 4, 9, 0, 0, 0, rome))
	_, err = s.Tick(ctx)
	require.NoError(t, err)
	require.Len(t, r.standin.Messages(), 4)
}

func TestRecallTexts(t *testing.T) {
	pre, err := sms.RecallText(sms.RecallPrealert, "800466222")
	require.NoError(t, err)
	require.Equal(t, "Il CUP la richiamerà a breve dal numero 800 466 222", pre)
	failed, err := sms.RecallText(sms.RecallFailed, "800466222")
	require.NoError(t, err)
	require.Contains(t, failed, "800466222")
	_, n := sms.Segments(failed)
	require.Equal(t, 1, n)
	_, err = sms.RecallText(sms.Reminder, "800466222")
	require.Error(t, err)
	// A message is about a booking or a recall, not both and not neither.
	m := sms.Message{Kind: sms.RecallPrealert, Recall: 7}
	require.Equal(t, "recall_prealert:recall-7", m.Key())
}

// A network error names Twilio's host, never the request's URL: Find's
// query carries the citizen's number.
func TestTwilioNetworkErrorHidesTheNumber(t *testing.T) {
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: "http://127.0.0.1:1", AccountSID: accountSID, AuthToken: authToken, From: "CUP"})
	require.NoError(t, err)
	_, _, err = tw.Find(context.Background(), "+393471234567", "x", time.Now())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "3471234567")
	require.Contains(t, err.Error(), "connection refused")
	_, err = tw.Send(context.Background(), "+393471234567", "x")
	require.NotContains(t, err.Error(), "3471234567")
}

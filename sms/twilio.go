package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// The one file that imports twilio-go.

// Verifier checks X-Twilio-Signature on webhooks with the account's auth
// token, with twilio-go's validator (HMAC-SHA1 over the URL and the sorted
// POST parameters).
type Verifier struct {
	v client.RequestValidator
}

// NewVerifier builds a verifier for an auth token.
func NewVerifier(authToken string) Verifier {
	return Verifier{v: client.NewRequestValidator(authToken)}
}

// Valid reports whether signature signs url and params. An empty
// signature is never valid.
func (v Verifier) Valid(url string, params map[string]string, signature string) bool {
	if signature == "" {
		return false
	}
	return v.v.Validate(url, params, signature)
}

// TwilioConfig reaches Twilio's Messages API (or the stand-in).
type TwilioConfig struct {
	// BaseURL replaces https://api.twilio.com (the stand-in in tests and
	// the demo); empty: Twilio.
	BaseURL    string
	AccountSID string
	AuthToken  string
	// From is the sender (a number or an alphanumeric sender id).
	From string
	// StatusCallback is this service's status webhook URL.
	StatusCallback string
	// Timeout bounds each request (twilio-go takes no context).
	Timeout time.Duration
}

// Twilio sends through Twilio's Messages API with twilio-go.
type Twilio struct {
	rest *twilio.RestClient
	cfg  TwilioConfig
}

// rewrite sends every request to base instead of Twilio's hosts.
type rewrite struct {
	base *url.URL
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	return r.next.RoundTrip(req)
}

// NewTwilio builds the sender's transport.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("twilio: account SID, auth token and sender are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("twilio: base URL %q", cfg.BaseURL)
		}
		hc.Transport = rewrite{base: u, next: http.DefaultTransport}
	}
	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(cfg.AccountSID)
	return &Twilio{rest: twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), cfg: cfg}, nil
}

// SendError is Twilio's refusal, classified.
type SendError struct {
	Status int // HTTP status (0: no answer)
	Code   int // Twilio error code
	Err    error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("twilio: status %d, code %d: %v", e.Status, e.Code, e.Err)
}
func (e *SendError) Unwrap() error { return e.Err }

// withoutURL keeps a network error's cause and drops its request URL,
// whose query names the citizen's number (Find's To=).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ""
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		return fmt.Errorf("twilio: %s %s: %w", ue.Op, host, ue.Err)
	}
	return err
}

// Send submits one message and returns its MessageSid.
func (t *Twilio) Send(ctx context.Context, to, body string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(to).SetFrom(t.cfg.From).SetBody(body)
	if t.cfg.StatusCallback != "" {
		p.SetStatusCallback(t.cfg.StatusCallback)
	}
	m, err := t.rest.Api.CreateMessage(p)
	if err != nil {
		var te *client.TwilioRestError
		if errors.As(err, &te) {
			return "", &SendError{Status: te.Status, Code: te.Code, Err: err}
		}
		return "", &SendError{Err: withoutURL(err)}
	}
	if m.Sid == nil {
		return "", &SendError{Err: errors.New("no MessageSid in the answer")}
	}
	return *m.Sid, nil
}

// Find looks for a message to `to` with this body sent since `since`: an
// earlier attempt Twilio may have accepted before failing to answer.
func (t *Twilio) Find(ctx context.Context, to, body string, since time.Time) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	p := &openapi.ListMessageParams{}
	p.SetTo(to).SetDateSentAfter(since.Add(-time.Minute)).SetPageSize(50).SetLimit(200)
	ms, err := t.rest.Api.ListMessage(p)
	if err != nil {
		return "", false, &SendError{Err: withoutURL(err)}
	}
	for _, m := range ms {
		if m.Body != nil && *m.Body == body && m.Sid != nil {
			return *m.Sid, true, nil
		}
	}
	return "", false, nil
}

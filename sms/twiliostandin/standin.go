// Package twiliostandin is a local stand-in of Twilio's Messages REST API
// for tests, the demo and benchmarks (Twilio cannot be reached from here):
// it accepts and lists messages as twilio-go calls them, returns Twilio's
// error codes on demand by recipient, and posts status callbacks signed the
// way Twilio signs them.
package twiliostandin

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Behaviour is what the stand-in does for a recipient.
type Behaviour string

// Behaviours (Twilio's codes).
const (
	Deliver        Behaviour = ""                 // accepted, then sent and delivered
	TooManyReqs    Behaviour = "429"              // 429, code 20429: try later
	ServerError    Behaviour = "500"              // 500 without accepting
	AcceptThen500  Behaviour = "500-after-accept" // accepted, but answers 500
	OptedOut       Behaviour = "21610"            // 400: the number replied STOP
	Landline       Behaviour = "21614"            // 400: not a mobile number
	Unreachable    Behaviour = "30003"            // accepted, then undelivered 30003
	deliverDelayMS           = 20
)

// Message is one accepted message.
type Message struct {
	SID      string
	To, From string
	Body     string
	Sent     time.Time
	Callback string
}

// Server is the stand-in.
type Server struct {
	AccountSID, AuthToken string

	mu        sync.Mutex
	behaviour map[string]Behaviour
	messages  []Message
	seq       int
	client    *http.Client
}

// New builds a stand-in for an account.
func New(accountSID, authToken string) *Server {
	return &Server{AccountSID: accountSID, AuthToken: authToken, behaviour: map[string]Behaviour{},
		client: &http.Client{Timeout: 5 * time.Second}}
}

// On sets what happens to messages for a recipient (E.164).
func (s *Server) On(to string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour[to] = b
}

// Messages returns every accepted message.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// ServeHTTP speaks /2010-04-01/Accounts/{sid}/Messages.json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json" {
		apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.create(w, r)
	case http.MethodGet:
		s.list(w, r)
	default:
		apiError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, 21100, "Malformed request")
		return
	}
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	if to == "" || body == "" || r.PostForm.Get("From") == "" {
		apiError(w, http.StatusBadRequest, 21604, "A 'To', 'From' and 'Body' are required")
		return
	}
	s.mu.Lock()
	b := s.behaviour[to]
	s.mu.Unlock()
	switch b {
	case TooManyReqs:
		apiError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	case ServerError:
		apiError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	case OptedOut:
		apiError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	case Landline:
		apiError(w, http.StatusBadRequest, 21614, "'To' number is not a valid mobile number")
		return
	}
	s.mu.Lock()
	s.seq++
	m := Message{SID: fmt.Sprintf("SM%032x", s.seq), To: to, From: r.PostForm.Get("From"), Body: body,
		Sent: time.Now().UTC(), Callback: r.PostForm.Get("StatusCallback")}
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	if m.Callback != "" {
		go s.callbacks(m, b)
	}
	if b == AcceptThen500 {
		apiError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusCreated, s.resource(m, "queued"))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("To")
	var out []map[string]any
	for _, m := range s.Messages() {
		if to == "" || m.To == to {
			out = append(out, s.resource(m, "sent"))
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "next_page_uri": nil, "page": 0, "page_size": len(out)})
}

func (s *Server) resource(m Message, status string) map[string]any {
	return map[string]any{"sid": m.SID, "account_sid": s.AccountSID, "to": m.To, "from": m.From, "body": m.Body,
		"status": status, "num_segments": "1", "date_sent": m.Sent.Format(time.RFC1123Z), "date_created": m.Sent.Format(time.RFC1123Z)}
}

// callbacks posts sent, then delivered (or undelivered 30003), signed.
func (s *Server) callbacks(m Message, b Behaviour) {
	steps := []map[string]string{{"MessageStatus": "sent"}, {"MessageStatus": "delivered"}}
	if b == Unreachable {
		steps[1] = map[string]string{"MessageStatus": "undelivered", "ErrorCode": "30003"}
	}
	for _, st := range steps {
		time.Sleep(deliverDelayMS * time.Millisecond)
		p := map[string]string{"MessageSid": m.SID, "AccountSid": s.AccountSID, "To": m.To, "From": m.From}
		for k, v := range st {
			p[k] = v
		}
		_ = s.Post(m.Callback, p)
	}
}

// Post sends a webhook like Twilio does: a form POST signed in
// X-Twilio-Signature (inbound messages are posted with it too).
func (s *Server) Post(webhook string, params map[string]string) error {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, webhook, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, webhook, params))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Sign is Twilio's signature: base64(HMAC-SHA1(token, url + each POST
// parameter's name and value, sorted by name)).
func Sign(authToken, url string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(url)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params[k])
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

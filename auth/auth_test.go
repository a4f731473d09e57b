package auth_test

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/auth"
)

// hashes are computed once: bcrypt is slow on purpose.
var hashes = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, s := range []string{"secret-of-agent", "secret-of-manager", "secret-of-portal"} {
		h, err := auth.Hash(s)
		if err != nil {
			panic(err)
		}
		out[s] = h
	}
	return out
})

func credentials(t *testing.T) *auth.Credentials {
	t.Helper()
	h := hashes()
	text := strings.Join([]string{
		"# agents, channels, managers",
		auth.Line(auth.Principal{Role: auth.RoleAgent, Name: "a101", Attr: "PJSIP/agent101"}, h["secret-of-agent"]),
		"",
		auth.Line(auth.Principal{Role: auth.RoleManager, Name: "rossi"}, h["secret-of-manager"]),
		auth.Line(auth.Principal{Role: auth.RoleChannel, Name: "portale", Attr: "web"}, h["secret-of-portal"]),
	}, "\n")
	c, err := auth.Parse(strings.NewReader(text), "creds")
	require.NoError(t, err)
	return c
}

func TestCredentialsFileRefusesWhatIsUnsafeOrIncomplete(t *testing.T) {
	h := hashes()["secret-of-agent"]
	for line, want := range map[string]string{
		"agent a101 secret-of-agent PJSIP/agent101": "must be a bcrypt hash",
		"agent a101 " + h:  "needs its attribute",
		"channel web " + h: "needs its attribute",
		"root a101 " + h:   "role \"root\"",
		"manager a/b " + h: "has a ':' or '/'",
		"manager":          "want \"role name hash [attribute]\"",
		"manager rossi " + h + "\nmanager rossi " + h: "\"rossi\" twice",
		// An agent's phone is one desk, never a number or URI to dial.
		"agent a101 " + h + " PJSIP/carrier/sip:+441234567890": "must be one desk",
		"agent a101 " + h + " PJSIP/agent101&PJSIP/agent102":   "must be one desk",
		"agent a101 " + h + " Local/800466222":                 "must be one desk",
		"agent a101 " + h + " SIP/agent101":                    "must be one desk",
	} {
		_, err := auth.Parse(strings.NewReader(line), "creds")
		require.ErrorContains(t, err, want, line)
		require.NotContains(t, err.Error(), "secret-of-agent", "a message never prints a secret")
		require.NotContains(t, err.Error(), h, "a message never prints a hash")
	}
	for _, phone := range []string{"PJSIP/agent101", "Local/a2@sim-agents/n", "Local/a2@sim-agents"} {
		_, err := auth.Parse(strings.NewReader("agent a101 "+h+" "+phone), "creds")
		require.NoError(t, err, phone)
	}
	_, err := auth.Hash("short")
	require.Error(t, err, "a secret has at least 12 characters")
}

func TestAuthenticate(t *testing.T) {
	c := credentials(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p, ok := c.Authenticate("a101", "secret-of-agent", now)
	require.True(t, ok)
	require.Equal(t, auth.Principal{Role: auth.RoleAgent, Name: "a101", Attr: "PJSIP/agent101"}, p)
	p, ok = c.Authenticate("a101", "secret-of-agent", now.Add(time.Minute)) // from the verified cache
	require.True(t, ok)
	require.Equal(t, "a101", p.Name)

	_, ok = c.Authenticate("a101", "secret-of-manager", now)
	require.False(t, ok, "another credential's secret")
	_, ok = c.Authenticate("nobody", "secret-of-agent", now)
	require.False(t, ok, "an unknown name")
	_, ok = c.Authenticate("a101", "", now)
	require.False(t, ok)

	phone, ok := c.Phone("a101")
	require.True(t, ok)
	require.Equal(t, "PJSIP/agent101", phone)
	_, ok = c.Phone("rossi")
	require.False(t, ok, "a manager has no phone")
	require.Len(t, c.All(auth.RoleChannel), 1)
}

type fixture struct {
	guard *auth.Guard
	now   time.Time
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	var err error
	f.guard, err = auth.NewGuard(credentials(t), []byte(strings.Repeat("k", 32)), func() time.Time { return f.now },
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /login", f.guard.Login())
	mux.Handle("GET /board", f.guard.Need(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		_, _ = io.WriteString(w, string(p.Role)+" "+p.Name)
	}), auth.RoleManager))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, set func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+"/board", nil)
	require.NoError(t, err)
	set(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) login(t *testing.T, name, password string) *http.Response {
	t.Helper()
	resp, err := http.PostForm(f.srv.URL+"/login", url.Values{"name": {name}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestNeedChecksCredentialAndRole(t *testing.T) {
	f := newFixture(t)
	code, body := f.get(t, func(r *http.Request) { r.SetBasicAuth("rossi", "secret-of-manager") })
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "manager rossi", body)

	code, body = f.get(t, func(r *http.Request) {})
	require.Equal(t, http.StatusUnauthorized, code)
	require.JSONEq(t, `{"error":"unauthorized","message":"missing or unknown credential"}`, body)

	code, _ = f.get(t, func(r *http.Request) { r.SetBasicAuth("a101", "secret-of-agent") })
	require.Equal(t, http.StatusForbidden, code, "an agent is not a manager")
}

func TestWrongSecretsAreSlowedDownRightOnesNever(t *testing.T) {
	f := newFixture(t)
	for range 40 {
		code, _ := f.get(t, func(r *http.Request) { r.SetBasicAuth("rossi", "secret-of-manager") })
		require.Equal(t, http.StatusOK, code, "a busy client with the right secret")
	}
	for range 10 {
		code, _ := f.get(t, func(r *http.Request) { r.SetBasicAuth("portale", "guess") })
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, _ := f.get(t, func(r *http.Request) { r.SetBasicAuth("portale", "secret-of-portal") })
	require.Equal(t, http.StatusTooManyRequests, code, "after ten wrong tries even the right secret waits")
	require.Equal(t, http.StatusTooManyRequests, f.login(t, "portale", "secret-of-portal").StatusCode)
	code, _ = f.get(t, func(r *http.Request) { r.SetBasicAuth("rossi", "secret-of-manager") })
	require.Equal(t, http.StatusOK, code, "another name is not slowed")

	f.now = f.now.Add(time.Minute)
	require.Equal(t, http.StatusNoContent, f.login(t, "portale", "secret-of-portal").StatusCode, "a minute later")
}

func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, http.StatusUnauthorized, f.login(t, "rossi", "wrong-password").StatusCode)
	resp := f.login(t, "rossi", "secret-of-manager")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, session.SameSite)
	require.False(t, session.Secure, "plain http on loopback")

	code, body := f.get(t, func(r *http.Request) { r.AddCookie(session) })
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "manager rossi", body)

	forged := *session
	payload64, mac, _ := strings.Cut(session.Value, ".")
	payload, err := base64.RawURLEncoding.DecodeString(payload64)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(payload), "rossi|"))
	forged.Value = base64.RawURLEncoding.EncodeToString([]byte("a101"+strings.TrimPrefix(string(payload), "rossi"))) + "." + mac
	code, _ = f.get(t, func(r *http.Request) { r.AddCookie(&forged) })
	require.Equal(t, http.StatusUnauthorized, code, "a cookie changed by hand")

	f.now = f.now.Add(auth.SessionTTL)
	code, _ = f.get(t, func(r *http.Request) { r.AddCookie(session) })
	require.Equal(t, http.StatusUnauthorized, code, "an expired session")
}

func TestSessionCookieSecureBehindHTTPS(t *testing.T) {
	f := newFixture(t)
	req, err := http.NewRequest("POST", f.srv.URL+"/login",
		strings.NewReader(url.Values{"name": {"rossi"}, "password": {"secret-of-manager"}, "next": {"/wallboard"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/wallboard", resp.Header.Get("Location"))
	require.True(t, resp.Cookies()[0].Secure)
}

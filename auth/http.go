package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/centralino-cup/centralino/clock"
)

// CookieName is the pages' session cookie.
const CookieName = "centralino_session"

// SessionTTL is how long a page's login lasts.
const SessionTTL = 12 * time.Hour

// Guard authenticates requests (HTTP Basic, or a session cookie from
// Login) and lets through those whose role a route accepts.
type Guard struct {
	creds *Credentials
	key   []byte // signs session cookies
	now   clock.Clock
	log   *slog.Logger

	mu     sync.Mutex
	logins map[string]*rate.Limiter // by name: a guessing client is slowed
}

// NewGuard builds the guard; key signs the session cookies (at least 32
// bytes; nil: a random key, so sessions end with the process and do not
// pass from one instance to another).
func NewGuard(creds *Credentials, key []byte, now clock.Clock, log *slog.Logger) (*Guard, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, key); err != nil {
			return nil, err
		}
	}
	if len(key) < 32 {
		return nil, errors.New("the session key must have at least 32 bytes")
	}
	return &Guard{creds: creds, key: key, now: clock.Must(now, "auth"), log: log.With("component", "auth"),
		logins: map[string]*rate.Limiter{}}, nil
}

// Credentials are the guard's.
func (g *Guard) Credentials() *Credentials { return g.creds }

// Who is the principal of a request: HTTP Basic first, then a session
// cookie.
func (g *Guard) Who(r *http.Request) (Principal, bool) {
	if name, secret, ok := r.BasicAuth(); ok {
		if g.guessing(name) {
			return Principal{}, false
		}
		p, ok := g.creds.Authenticate(name, secret, g.now())
		if !ok {
			g.failed(name)
		}
		return p, ok
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return g.session(c.Value)
	}
	return Principal{}, false
}

// Need lets through to h only the requests of the roles given; the
// principal is in the request's context (From). Others get 401 (no valid
// credential), 403 (a role that may not) or 429 (a name that has guessed
// too often), as JSON.
func (g *Guard) Need(h http.Handler, roles ...Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, _, basic := r.BasicAuth(); basic && g.guessing(name) {
			WriteError(w, http.StatusTooManyRequests, "too_many_tries", "too many wrong tries: wait a minute")
			return
		}
		p, ok := g.Who(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="centralino"`)
			WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or unknown credential")
			return
		}
		if !slices.Contains(roles, p.Role) {
			WriteError(w, http.StatusForbidden, "forbidden", "the "+string(p.Role)+" role may not do this")
			return
		}
		h.ServeHTTP(w, r.WithContext(With(r.Context(), p)))
	})
}

// Guessing is slowed down per name: after failedBurst wrong secrets, one
// more try every failedEvery; a client whose secret is right is never
// slowed, however often it calls.
const (
	failedBurst = 10
	failedEvery = 6 * time.Second
)

// guessing tells a name that has used up its wrong tries.
func (g *Guard) guessing(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.logins[name]
	return ok && l.TokensAt(g.now()) < 1
}

// failed counts a wrong secret against name.
func (g *Guard) failed(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.logins[name]
	if !ok {
		if len(g.logins) > 10_000 {
			g.logins = map[string]*rate.Limiter{} // a flood of made-up names
		}
		l = rate.NewLimiter(rate.Every(failedEvery), failedBurst)
		g.logins[name] = l
	}
	l.AllowN(g.now(), 1)
}

// sign is a cookie value for name until until: "name|unix.mac".
func (g *Guard) sign(name string, until time.Time) string {
	payload := name + "|" + strconv.FormatInt(until.Unix(), 10)
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session reads a cookie value: its signature, its expiry, and the
// credential still there.
func (g *Guard) session(v string) (Principal, bool) {
	p64, mac64, ok := strings.Cut(v, ".")
	if !ok {
		return Principal{}, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(mac64)
	if err1 != nil || err2 != nil {
		return Principal{}, false
	}
	m := hmac.New(sha256.New, g.key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return Principal{}, false
	}
	name, unix, ok := strings.Cut(string(payload), "|")
	until, err := strconv.ParseInt(unix, 10, 64)
	if !ok || err != nil || !g.now().Before(time.Unix(until, 0)) {
		return Principal{}, false
	}
	return g.creds.Lookup(name)
}

// Login serves POST /login: a form (name, password) that, right, sets the
// session cookie (HttpOnly, SameSite=Strict, Secure over https or behind
// a proxy that says so) and answers 204, or 303 to next (a path of this
// site) when the form gives one; wrong, 401 and no cookie.
func (g *Guard) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			WriteError(w, http.StatusBadRequest, "invalid_input", "malformed form")
			return
		}
		name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
		if name == "" || password == "" {
			WriteError(w, http.StatusBadRequest, "invalid_input", "name and password are required")
			return
		}
		if g.guessing(name) {
			WriteError(w, http.StatusTooManyRequests, "too_many_tries", "too many wrong tries: wait a minute")
			return
		}
		p, ok := g.creds.Authenticate(name, password, g.now())
		if !ok {
			g.failed(name)
			g.log.Warn("login refused", "name", name)
			WriteError(w, http.StatusUnauthorized, "unauthorized", "wrong name or password")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: g.sign(p.Name, g.now().Add(SessionTTL)), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r), MaxAge: int(SessionTTL.Seconds())})
		g.log.Info("logged in", "name", p.Name, "role", p.Role)
		if next := r.PostForm.Get("next"); strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Logout serves POST /logout: the session cookie is cleared.
func (g *Guard) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: secure(r), MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	})
}

// secure tells a request that came over https (directly, or through a
// proxy that terminated it).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// WriteError is the JSON error every route answers with:
// {"error": code, "message": reason}.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": message})
}

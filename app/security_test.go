package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/config"
)

// syncBuffer is a log the daemon writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// running is a daemon a test talks to.
type running struct {
	base string
	log  *syncBuffer
	db   *pgx.Conn
}

// runDaemon starts the daemon on cfg (log at debug, masked as in
// production) on an empty Redis database and stops it when the test ends.
func runDaemon(t *testing.T, cfg config.Config) running {
	t.Helper()
	return runDaemonWith(t, cfg, time.Now, true)
}

// runDaemonWith is runDaemon on the clock now; flush empties the Redis
// database first.
func runDaemonWith(t *testing.T, cfg config.Config, now func() time.Time, flush bool) running {
	t.Helper()
	opts, err := redis.ParseURL(cfg.Redis.URL)
	require.NoError(t, err)
	if flush {
		rdb := redis.NewClient(opts)
		require.NoError(t, rdb.FlushDB(context.Background()).Err())
		rdb.Close()
	}
	logs := &syncBuffer{}
	cfg.Log.Level = "debug"
	signals := make(chan os.Signal, 1)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(cfg, now, cfg.Log.Logger(logs), signals) }()
	t.Cleanup(func() {
		signals <- syscall.SIGINT
		<-ran
	})
	r := running{base: "http://" + cfg.HTTP.Listen, log: logs}
	require.Eventually(t, func() bool { code, _ := get(t, r.base+"/healthz"); return code == http.StatusOK }, 20*time.Second, 50*time.Millisecond)
	r.db, err = pgx.Connect(context.Background(), cfg.Database.URL)
	require.NoError(t, err)
	t.Cleanup(func() { r.db.Close(context.Background()) })
	return r
}

func (r running) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := r.db.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// snapshot is what a refused request must leave as it was.
func (r running) snapshot(t *testing.T) string {
	var s string
	require.NoError(t, r.db.QueryRow(context.Background(), `select
		coalesce((select string_agg(format('%s|%s|%s', id, hold_token, booking_id), ',' order by id) from slots), '') || '#' ||
		coalesce((select string_agg(format('%s|%s', number, status), ',' order by id) from bookings), '')`).Scan(&s))
	return s
}

// Every route but /healthz needs a credential, whose role decides; an
// unknown route or method answers the same JSON error; the pages' session
// is a strict cookie, and a state change from another origin is refused.
func TestEveryRouteNeedsACredential(t *testing.T) {
	cfg := testConfig(t)
	d := runDaemon(t, cfg)
	d.exec(t, `insert into services values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)`)
	d.exec(t, `insert into sites (name, short_name, address, city, owner_kind, owner_name) values ('Ospedale','Ospedale','Via 1','Genova','hospital','ASL')`)
	d.exec(t, `insert into agendas (site_id, service_code, name) values (1,'VCARD','Cardiologia')`)
	d.exec(t, `insert into slots (agenda_id, service_code, starts_at, ends_at) values (1,'VCARD',now() + interval '2 days', now() + interval '2 days 20 minutes')`)
	d.exec(t, `insert into prescriptions values ('070A40000000001','RSSMRA80A31D969X','1980-01-31','VCARD','U',current_date)`)
	before := d.snapshot(t)

	anonymous := []struct{ method, path, body string }{
		{"POST", "/api/v1/holds", `{"slot_id": 1}`},
		{"POST", "/api/v1/bookings", `{"hold_token":"6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69","nre":"070A40000000001","birth_date":"1980-01-31","channel":"agent"}`},
		{"GET", "/api/v1/bookings/512345678901", ""},
		{"POST", "/api/v1/bookings/512345678901/attendance", `{"status":"no_show"}`},
		{"POST", "/api/v1/bookings/512345678901/cancellation", `{"birth_date":"1980-01-31"}`},
		{"GET", "/api/v1/prescriptions/070A40000000001/availability?birth_date=1980-01-31", ""},
		{"POST", "/api/v1/agent/login", `{"queues":["booking"]}`},
		{"GET", "/api/v1/agent", ""},
		{"GET", "/api/v1/recalls", ""},
		{"GET", "/metrics", ""},
	}
	for _, a := range anonymous {
		code, body := do(t, a.method, d.base+a.path, "", a.body)
		require.Equal(t, http.StatusUnauthorized, code, "%s %s: %s", a.method, a.path, body)
		require.Contains(t, body, `"error":"unauthorized"`)
	}
	require.Equal(t, before, d.snapshot(t), "anonymous requests changed nothing")

	// The scraper scrapes and does nothing else; agents and channels do
	// not read the metrics.
	code, _ := do(t, "GET", d.base+"/metrics", "prom", "")
	require.Equal(t, http.StatusOK, code)
	code, _ = do(t, "POST", d.base+"/api/v1/holds", "prom", `{"slot_id": 1}`)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = do(t, "GET", d.base+"/metrics", "portale", "")
	require.Equal(t, http.StatusForbidden, code)
	// A channel cannot act as an agent.
	code, _ = do(t, "GET", d.base+"/api/v1/agent", "portale", "")
	require.Equal(t, http.StatusForbidden, code)
	// A wrong secret is no credential.
	req, _ := http.NewRequest("GET", d.base+"/metrics", nil)
	req.SetBasicAuth("prom", "guessed-0123456789")
	resp, err := web.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Unknown routes and methods: the same JSON shape.
	code, body := do(t, "GET", d.base+"/api/v2/nothing", "", "")
	require.Equal(t, http.StatusNotFound, code)
	require.JSONEq(t, `{"error":"not_found","message":"no such route"}`, body)
	code, body = do(t, "DELETE", d.base+"/healthz", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Contains(t, body, `"error":"method_not_allowed"`)

	// The agent logs in on the phone configured for her.
	code, body = do(t, "POST", d.base+"/api/v1/agent/login", "anna", `{"queues":["booking"]}`)
	require.Equal(t, http.StatusNoContent, code, body)
	code, body = do(t, "GET", d.base+"/api/v1/agent", "anna", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"state":"paused"`)

	// The pages' session: a strict, HttpOnly cookie; with it the agent's
	// API answers; a change posted from another origin is refused.
	form := url.Values{"name": {"anna"}, "password": {secrets["anna"]}}
	resp, err = web.PostForm(d.base+"/login", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	withCookie := func(method, path string, header map[string]string) int {
		req, _ := http.NewRequest(method, d.base+path, nil)
		req.AddCookie(c)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := web.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, withCookie("GET", "/api/v1/agent", nil))
	require.Equal(t, http.StatusForbidden, withCookie("POST", "/api/v1/agent/ready",
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}), "cross-origin change refused")
	require.Equal(t, http.StatusNoContent, withCookie("POST", "/api/v1/agent/ready", map[string]string{"Sec-Fetch-Site": "same-origin"}))
	resp, err = web.PostForm(d.base+"/login", url.Values{"name": {"anna"}, "password": {"wrong-password-0123"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, resp.Cookies())
}

// The failure paths log no personal data in clear: routes by their
// pattern, booking numbers, NREs and phone numbers masked, in errors too.
func TestLogsKeepPersonalDataMasked(t *testing.T) {
	cfg := testConfig(t)
	d := runDaemon(t, cfg)
	const number, nre, phone = "512345678903", "070A49876543210", "+393471239876"
	paths := []struct{ who, method, path, body string }{
		{"portale", "GET", "/api/v1/bookings/" + number, ""},
		{"portale", "GET", "/api/v1/bookings/" + number + "?birth_date=1980-01-31", ""},
		{"portale", "POST", "/api/v1/bookings/" + number + "/cancellation", `{"birth_date":"1980-01-31"}`},
		{"anna", "GET", "/api/v1/bookings/" + number, ""},
		{"anna", "GET", "/api/v1/prescriptions/" + nre + "/availability?birth_date=1980-01-31", ""},
		{"anna", "POST", "/api/v1/bookings", fmt.Sprintf(`{"hold_token":"6f1c8a3e-0a4b-4b8e-9a7e-2f1d3c4b5a69","nre":%q,"birth_date":"1980-01-31","phone":%q}`, nre, phone)},
		{"", "GET", "/api/v1/bookings/" + number, ""},
	}
	for _, p := range paths {
		code, _ := do(t, p.method, d.base+p.path, p.who, p.body)
		require.GreaterOrEqual(t, code, 400, "%s %s", p.method, p.path)
	}
	require.Eventually(t, func() bool { return strings.Contains(d.log.String(), "http request refused") }, 5*time.Second, 50*time.Millisecond)
	out := d.log.String()
	for _, clear := range []string{number, nre, phone, "3471239876", "9876543210"} {
		require.NotContains(t, out, clear, "personal data in the log")
	}
	require.Contains(t, out, "route=\"GET /api/v1/bookings/{number}\"", "routes logged by pattern")
}

package pages_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/pages"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/queue/queuetest"
)

// lockedBuffer is a log written by the pages while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

var secrets = map[string]string{"anna": "anna-secret-0123456789", "maria": "maria-secret-0123456789"}

// rig is the pages on a real Redis (a prefix of their own), with an agent
// and a manager.
type rig struct {
	srv   *httptest.Server
	store *queue.Store
	svc   *queue.Service
	log   *lockedBuffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	var lines []string
	for _, p := range []auth.Principal{{Role: auth.RoleAgent, Name: "anna", Attr: "Local/a1@sim-agents/n"}, {Role: auth.RoleManager, Name: "maria"}} {
		h, err := auth.Hash(secrets[p.Name])
		require.NoError(t, err)
		lines = append(lines, auth.Line(p, h))
	}
	creds, err := auth.Parse(strings.NewReader(strings.Join(lines, "\n")), "test")
	require.NoError(t, err)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	guard, err := auth.NewGuard(creds, nil, time.Now, log)
	require.NoError(t, err)
	store, _, _ := queuetest.Store(t)
	p := pages.New(pages.Config{Instance: "i1", Queues: []string{"booking"}, Every: 20 * time.Millisecond, Clock: time.Now, Log: log},
		pages.Deps{Live: store, Links: store}, guard)
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(p.Stop)
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(p.Shutdown) // before the server closes: its streams end
	return &rig{srv: srv, store: store, svc: queue.NewService(store, queue.Options{Clock: time.Now, Log: log}), log: logs}
}

// request is a request as who (Basic).
func (r *rig) request(t *testing.T, method, path, who, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if who != "" {
		req.SetBasicAuth(who, secrets[who])
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	require.NoError(t, err)
	return resp
}

// events reads a stream's "state" events into a channel.
func events(t *testing.T, resp *http.Response) <-chan map[string]any {
	out := make(chan map[string]any, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok && event == "state" {
				var v map[string]any
				if json.Unmarshal([]byte(d), &v) == nil {
					out <- v
				}
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return out
}

// await waits for a view for which ok holds.
func await(t *testing.T, views <-chan map[string]any, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case v, open := <-views:
			require.True(t, open, "the stream ended")
			if ok(v) {
				return v
			}
		case <-timeout:
			t.Fatal("no such view within 3 s")
		}
	}
}

// A desk's stream sends the agent's view when it changes in Redis; a
// manager may not open it; the wallboard's lists the agents logged in.
func TestStreamsFollowTheSharedState(t *testing.T) {
	r := newRig(t)
	resp := r.request(t, "GET", "/desk/events", "maria", "")
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a manager opens no desk")
	resp = r.request(t, "GET", "/desk/events", "anna", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	desk := events(t, resp)
	await(t, desk, func(v map[string]any) bool { return v["state"] == "logged_out" })

	ctx := context.Background()
	require.NoError(t, r.svc.Login(ctx, "anna", "Local/a1@sim-agents/n", []string{"booking"}))
	v := await(t, desk, func(v map[string]any) bool { return v["state"] == "paused" })
	require.Equal(t, "login", v["reason"])

	board := events(t, r.request(t, "GET", "/wallboard/events", "maria", ""))
	b := await(t, board, func(v map[string]any) bool { return len(v["agents"].([]any)) == 1 })
	require.Equal(t, "anna", b["agents"].([]any)[0].(map[string]any)["name"])
	require.NoError(t, r.svc.Ready(ctx, "anna"))
	await(t, board, func(v map[string]any) bool { return v["agents"].([]any)[0].(map[string]any)["state"] == "ready" })
}

// The number is revealed only to the agent the caller is in front of, a
// recall's never, and each reveal is logged without the number.
func TestRevealIsTheAgentsAndLogged(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	reveal := func(who, callID string) (int, string) {
		resp := r.request(t, "POST", "/desk/reveal", who, `{"call_id":"`+callID+`"}`)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.NoError(t, r.store.Enqueue(ctx, queue.Waiting{CallID: "c1", Queue: "booking", Entered: time.Now(), Caller: "+393471234567"}))
	code, body := reveal("anna", "c1")
	require.Equal(t, http.StatusForbidden, code, "not in front of her: %s", body)

	require.NoError(t, r.svc.Login(ctx, "anna", "Local/a1@sim-agents/n", []string{"booking"}))
	require.NoError(t, r.svc.Ready(ctx, "anna"))
	a, ok, err := r.store.Assign(ctx, "booking", time.Now())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "c1", a.CallID)
	code, _ = reveal("maria", "c1")
	require.Equal(t, http.StatusForbidden, code, "a manager reveals nothing on the desk")
	code, body = reveal("anna", "c1")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"caller":"+393471234567"}`, body)
	require.Contains(t, r.log.String(), `msg="caller's number revealed"`)
	require.Contains(t, r.log.String(), `agent=anna call_id=c1`)
	require.NotContains(t, r.log.String(), "3471234567")

	// A recall in front of her: its number stays masked.
	require.NoError(t, r.svc.Release(ctx, a))
	require.NoError(t, r.store.DropRecall(ctx, 0))
	_, err = r.store.Leave(ctx, "c1", time.Now())
	require.NoError(t, err)
	_, err = r.store.EnterRecall(ctx, queue.RecallEntry{ID: 7, Queue: "booking", Lane: queue.LaneLive, Rank: time.Now(),
		Phone: "+393479876543", Reason: "wait", Requested: time.Now()})
	require.NoError(t, err)
	a, ok, err = r.store.Assign(ctx, "booking", time.Now())
	require.NoError(t, err)
	require.True(t, ok)
	code, body = reveal("anna", a.CallID)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, "recall_masked")
}

// The pages: without a session to the login page, with another role a
// refusal in Italian; the login page and the assets are public.
func TestPagesNeedTheirRole(t *testing.T) {
	r := newRig(t)
	for _, c := range []struct {
		path, who string
		code      int
		has       string
	}{
		// No session: to the login page, and back after.
		{"/desk", "", http.StatusSeeOther, ""},
		{"/wallboard", "", http.StatusSeeOther, ""},
		// Each role its page.
		{"/desk", "anna", http.StatusOK, "Postazione operatore"},
		{"/wallboard", "maria", http.StatusOK, "Tabellone CUP"},
		// Not the other's.
		{"/wallboard", "anna", http.StatusForbidden, "Accesso negato"},
		{"/desk", "maria", http.StatusForbidden, "Accesso negato"},
		// Public: the login page and the assets.
		{"/login", "", http.StatusOK, "Nome utente"},
		{"/assets/live.js", "", http.StatusOK, "EventSource"},
	} {
		resp := r.request(t, "GET", c.path, c.who, "")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, c.code, resp.StatusCode, "%s as %q", c.path, c.who)
		require.Contains(t, string(b), c.has, "%s as %q", c.path, c.who)
		if c.code == http.StatusSeeOther {
			require.Equal(t, "/login?next="+strings.ReplaceAll(c.path, "/", "%2F"), resp.Header.Get("Location"))
		}
		if c.code != http.StatusSeeOther {
			require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
		}
	}
}

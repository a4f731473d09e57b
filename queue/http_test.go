package queue_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/queue"
)

func TestAgentDesktopAPI(t *testing.T) {
	s, _, _ := newStore(t)
	c := &clock{t: t0}
	svc := queue.NewService(s, queue.Options{Clock: c.Now, Log: quiet()})
	var readied []string
	srv := httptest.NewServer(svc.Handler(agentOf, phoneOf, func(_ context.Context, q []string) { readied = q }))
	defer srv.Close()
	do := func(method, path, token, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	const tok = "anna"

	code, _ := do("GET", "/api/v1/agent", "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = do("GET", "/api/v1/agent", "Bearer forged-token-0123456789", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = do("GET", "/api/v1/agent", tok, "")
	require.Equal(t, http.StatusNotFound, code)

	// Bad input: a clear 4xx and nothing changes. An agent does not name
	// its phone: the one configured for it is used.
	code, m := do("POST", "/api/v1/agent/login", tok, `{"endpoint":"PJSIP/carrier/sip:+441632960961","queues":["booking"]}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, m["message"], "endpoint")
	code, _ = do("POST", "/api/v1/agent/login", "bruno", `{"queues":["booking"]}`)
	require.Equal(t, http.StatusForbidden, code, "no phone configured for bruno")
	code, _ = do("POST", "/api/v1/agent/login", tok, `{"queue":"booking"}`)
	require.Equal(t, http.StatusBadRequest, code)
	_, err := s.Agent(context.Background(), "anna")
	require.ErrorIs(t, err, queue.ErrUnknownAgent)

	code, _ = do("POST", "/api/v1/agent/login", tok, `{"queues":["booking"]}`)
	require.Equal(t, http.StatusNoContent, code)
	anna, err := s.Agent(context.Background(), "anna")
	require.NoError(t, err)
	require.Equal(t, "PJSIP/agent101", anna.Endpoint, "anna's own phone")
	code, _ = do("POST", "/api/v1/agent/ready", tok, "")
	require.Equal(t, http.StatusNoContent, code)
	require.Equal(t, []string{"booking"}, readied)

	// A caller with what they keyed in the IVR reaches her.
	require.NoError(t, s.Enqueue(context.Background(), queue.Waiting{CallID: "c1", Queue: "booking", Entered: t0.Add(-90 * time.Second),
		Caller: "+393471234567", Recall: true, Keyed: map[string]string{"nre": "070A41234567890"}}))
	a, ok, err := s.Assign(context.Background(), "booking", c.Now())
	require.NoError(t, err)
	require.True(t, ok)
	_, err = svc.Connected(context.Background(), a)
	require.NoError(t, err)
	code, m = do("GET", "/api/v1/agent", tok, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "busy", m["state"])
	call := m["call"].(map[string]any)
	require.Equal(t, "+39347*****67", call["caller"], "a recall's number is masked: the agent does not dial it")
	require.Equal(t, true, call["recall"])
	require.Equal(t, float64(90), call["waited_s"])
	require.Equal(t, "070A41234567890", call["keyed"].(map[string]any)["nre"])

	// On a call: no logout.
	code, _ = do("POST", "/api/v1/agent/logout", tok, "")
	require.Equal(t, http.StatusConflict, code)
	require.NoError(t, svc.CallEnded(context.Background(), "anna", a.CallID))
	code, _ = do("POST", "/api/v1/agent/pause", tok, `{"reason":""}`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = do("POST", "/api/v1/agent/pause", tok, `{"reason":"pausa pranzo"}`)
	require.Equal(t, http.StatusNoContent, code)
	code, m = do("GET", "/api/v1/agent", tok, "")
	require.Equal(t, "paused", m["state"])
	require.Equal(t, "pausa pranzo", m["reason"])
	code, _ = do("POST", "/api/v1/agent/logout", tok, "")
	require.Equal(t, http.StatusNoContent, code)

}

// agentOf is the test's credentials: "Authorization: anna" is agent anna
// (the daemon's come from auth).
func agentOf(r *http.Request) (string, bool) {
	switch who := r.Header.Get("Authorization"); who {
	case "anna", "bruno":
		return who, true
	}
	return "", false
}

// phoneOf is anna's phone; bruno has none.
func phoneOf(agent string) (string, bool) {
	if agent == "anna" {
		return "PJSIP/agent101", true
	}
	return "", false
}

package recall_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// Agents list the open recalls with the numbers masked; managers see them
// whole, cancel one or bring it forward; bad input changes nothing.
func TestRecallAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	ctx := context.Background()
	waiting, err := w.recalls.KeepPlace(ctx, queue.Ticket{Caller: "+393471000071", Queue: "booking"}, w.clock.Now().Add(-3*time.Minute))
	require.NoError(t, err)
	_, err = w.store.EnterRecall(ctx, queue.RecallEntry{ID: waiting, Queue: "booking", Lane: queue.LaneLive, Rank: w.clock.Now().Add(-3 * time.Minute),
		Phone: "+393471000071", Reason: "wait", Requested: w.clock.Now()})
	require.NoError(t, err)
	tonight := w.outOfHours("3471000072")
	_, err = w.db.Exec(ctx, "update recall_requests set next_attempt_at = $1 where id = $2", w.clock.Now().Add(time.Hour), tonight)
	require.NoError(t, err)
	dialling := w.outOfHours("3471000073")
	_, err = w.db.Exec(ctx, "update recall_requests set status = 'dialling' where id = $1", dialling)
	require.NoError(t, err)

	srv := httptest.NewServer(w.recalls.Handler(func(r *http.Request) (recall.Role, bool) {
		switch r.Header.Get("Authorization") {
		case "agent":
			return recall.RoleAgent, true
		case "manager":
			return recall.RoleManager, true
		}
		return "", false
	}))
	defer srv.Close()
	do := func(method, path, who string) (int, []byte) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", who)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	list := func(who string) []recall.Open {
		code, b := do("GET", "/api/v1/recalls", who)
		require.Equal(t, http.StatusOK, code, "%s", b)
		var out struct{ Recalls []recall.Open }
		require.NoError(t, json.Unmarshal(b, &out))
		return out.Recalls
	}
	code, _ := do("GET", "/api/v1/recalls", "")
	require.Equal(t, http.StatusUnauthorized, code)
	open := list("agent")
	require.Len(t, open, 3)
	require.Equal(t, "+39347*****71", open[0].Phone, "masked for agents")
	require.Equal(t, recall.ReasonWait, open[0].Reason)
	require.Equal(t, recall.StatusQueued, open[0].Status)
	require.Equal(t, 1, open[0].Place)
	require.Equal(t, "+393471000071", list("manager")[0].Phone, "whole for managers")

	tests := []struct {
		name, method, path, who string
		code                    int
	}{
		// An agent may not change a recall.
		{"agent cancels", "POST", "/api/v1/recalls/1/cancel", "agent", http.StatusForbidden},
		// A malformed id.
		{"bad id", "POST", "/api/v1/recalls/x/cancel", "manager", http.StatusBadRequest},
		// No such recall.
		{"unknown", "POST", "/api/v1/recalls/999/forward", "manager", http.StatusNotFound},
		// Being dialled: too late to cancel.
		{"dialling", "POST", "/api/v1/recalls/" + itoa(dialling) + "/cancel", "manager", http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := do(tt.method, tt.path, tt.who)
			require.Equal(t, tt.code, code, "%s", b)
		})
	}
	require.Len(t, list("manager"), 3, "refusals changed nothing")

	code, _ = do("POST", "/api/v1/recalls/"+itoa(tonight)+"/forward", "manager")
	require.Equal(t, http.StatusNoContent, code)
	require.False(t, w.recall(tonight).Next.After(w.clock.Now()), "brought forward: due now")
	code, _ = do("POST", "/api/v1/recalls/"+itoa(waiting)+"/cancel", "manager")
	require.Equal(t, http.StatusNoContent, code)
	require.Equal(t, "cancelled", w.recall(waiting).Status)
	there, err := w.store.RecallsWaiting(ctx, []int64{waiting})
	require.NoError(t, err)
	require.False(t, there[waiting], "a cancelled recall leaves its queue")
	require.Len(t, list("manager"), 2)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

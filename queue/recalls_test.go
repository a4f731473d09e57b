package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/queue"
)

// recallEntry is an out-of-hours recall asked at asked, or a wait recall
// whose caller entered at asked.
func recallEntry(id int64, lane queue.Lane, asked time.Time) queue.RecallEntry {
	return queue.RecallEntry{ID: id, Queue: "booking", Lane: lane, Rank: asked, Phone: "+39347000000" + fmt.Sprint(id%10),
		Reason: map[queue.Lane]string{queue.LaneLive: "wait", queue.LaneOutOfHours: "out_of_hours"}[lane], Requested: asked}
}

// A wait recall ranks with the callers by first entry; out-of-hours
// recalls wait in their own lane and, while callers wait, take half the
// agents paired.
func TestRecallLanes(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	svc := queue.NewService(s, queue.Options{Clock: time.Now, Log: quiet()})
	w := func(id string, at time.Time) queue.Waiting {
		return queue.Waiting{CallID: id, Queue: "booking", Entered: at, Owner: "i1"}
	}
	require.NoError(t, s.Enqueue(ctx, w("early", t0)))
	ok, err := s.EnterRecall(ctx, recallEntry(1, queue.LaneLive, t0.Add(time.Minute)))
	require.NoError(t, err)
	require.True(t, ok)
	again, err := s.EnterRecall(ctx, recallEntry(1, queue.LaneLive, t0.Add(time.Hour)))
	require.NoError(t, err)
	require.False(t, again, "a recall in its queue keeps its place")
	require.NoError(t, s.Enqueue(ctx, w("late", t0.Add(2*time.Minute))))
	for i := int64(2); i <= 5; i++ {
		_, err := s.EnterRecall(ctx, recallEntry(i, queue.LaneOutOfHours, t0.Add(-time.Duration(10-i)*time.Hour)))
		require.NoError(t, err)
	}
	ids, err := s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"early", "recall:1", "late"}, ids, "the live lane: callers and the wait recall by first entry")

	for i := range 6 {
		id := fmt.Sprintf("a%d", i)
		require.NoError(t, svc.Login(ctx, id, "PJSIP/"+id, []string{"booking"}))
		require.NoError(t, svc.Ready(ctx, id))
	}
	var order []string
	for {
		a, ok, err := s.Assign(ctx, "booking", t0.Add(3*time.Minute))
		require.NoError(t, err)
		if !ok {
			break
		}
		order = append(order, a.CallID)
		if a.RecallID != 0 {
			require.Equal(t, fmt.Sprintf("recall:%d", a.RecallID), a.CallID)
		}
	}
	// Live and out-of-hours alternate while both wait (half each), in
	// order within each lane; the rest of the out-of-hours lane after.
	require.Equal(t, []string{"early", "recall:2", "recall:1", "recall:3", "late", "recall:4"}, order)
}

// A caller who accepts the recall passes its place to it.
func TestToRecallKeepsThePlace(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for i, id := range []string{"first", "accepts", "third"} {
		require.NoError(t, s.Enqueue(ctx, queue.Waiting{CallID: id, Queue: "booking", Entered: t0.Add(time.Duration(i) * time.Minute),
			Caller: "+393471234567", Owner: "i1", Keyed: map[string]string{"nre": "070A41234567890"}}))
	}
	ok, err := s.ToRecall(ctx, "booking", "accepts", 9, t0.Add(5*time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	ids, err := s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"first", "recall:9", "third"}, ids)
	info, err := s.Call(ctx, "recall:9")
	require.NoError(t, err)
	require.True(t, info.Recall)
	require.Equal(t, int64(9), info.RecallID)
	require.Equal(t, "wait", info.RecallReason)
	require.Equal(t, 4*time.Minute.Seconds(), info.WaitedBefore, "waited from its entry to its request")
	require.Equal(t, "070A41234567890", info.Keyed["nre"])
	_, err = s.Call(ctx, "accepts")
	require.ErrorIs(t, err, queue.ErrNotWaiting, "the caller left")
	// Not waiting any more (paired meanwhile): nothing changes.
	ok, err = s.ToRecall(ctx, "booking", "accepts", 10, t0)
	require.NoError(t, err)
	require.False(t, ok)

	places, err := s.RecallPlaces(ctx, []int64{9, 10})
	require.NoError(t, err)
	require.Equal(t, map[int64]int{9: 2}, places)
	moved, err := s.Forward(ctx, 9)
	require.NoError(t, err)
	require.True(t, moved)
	ids, err = s.Waiting(ctx, "booking")
	require.NoError(t, err)
	require.Equal(t, []string{"recall:9", "first", "third"}, ids, "brought forward")
	require.NoError(t, s.DropRecall(ctx, 9))
	there, err := s.RecallsWaiting(ctx, []int64{9})
	require.NoError(t, err)
	require.False(t, there[9])
}

// The agent's screen shows a recall as one: why, how long the citizen had
// waited, what they keyed; the number masked (the agent does not dial it).
func TestDesktopShowsTheRecall(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	svc := queue.NewService(s, queue.Options{Clock: func() time.Time { return t0.Add(10 * time.Minute) }, Log: quiet()})
	require.NoError(t, svc.Login(ctx, "rita", "PJSIP/rita", []string{"booking"}))
	require.NoError(t, svc.Ready(ctx, "rita"))
	e := recallEntry(7, queue.LaneLive, t0)
	e.Requested, e.WaitedBefore, e.Keyed = t0.Add(3*time.Minute), 3*time.Minute, map[string]string{"booking_number": "123456789012"}
	_, err := s.EnterRecall(ctx, e)
	require.NoError(t, err)
	a, ok, err := s.Assign(ctx, "booking", t0.Add(10*time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(7), a.RecallID)
	srv := httptest.NewServer(svc.Handler(func(*http.Request) (string, bool) { return "rita", true }, nil, nil))
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+"/api/v1/agent", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		State string `json:"state"`
		Call  struct {
			Recall       bool              `json:"recall"`
			RecallID     int64             `json:"recall_id"`
			RecallReason string            `json:"recall_reason"`
			WaitedBefore float64           `json:"waited_before_s"`
			Caller       string            `json:"caller"`
			Keyed        map[string]string `json:"keyed"`
		} `json:"call"`
	}
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	require.Equal(t, "ringing", out.State)
	require.True(t, out.Call.Recall)
	require.Equal(t, int64(7), out.Call.RecallID)
	require.Equal(t, "wait", out.Call.RecallReason)
	require.Equal(t, 180.0, out.Call.WaitedBefore)
	require.Equal(t, "+39347*****07", out.Call.Caller)
	require.Equal(t, "123456789012", out.Call.Keyed["booking_number"])
}

package queue_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/queue/queuetest"
)

// The wait's timers in a bubble (testing/synctest): time moves only when
// every goroutine of the test waits, so minutes of waiting take
// microseconds and the times heard are exact. Redis is the real one; the
// caller's channel is scripted (no agent is rung, so no Asterisk is
// needed).

// heardAt is one Gather on the scripted caller: what was played, and when
// it began, counted from the caller's entry.
type heardAt struct {
	at    time.Duration
	media []string
	keys  bool // a key was awaited (the recall offer)
}

// scripted is a caller's channel: each media item plays for a second;
// press answers a Gather that awaits a key.
type scripted struct {
	mu    sync.Mutex
	start time.Time
	heard []heardAt
	moh   []time.Duration // when the music (re)started
	press func(media []string) string
}

func (c *scripted) ID() string                       { return "scripted" }
func (c *scripted) Hangup(ctx context.Context) error { return nil }
func (c *scripted) Detached() bool                   { return false }
func (c *scripted) StopMOH(ctx context.Context) error {
	return nil
}

func (c *scripted) StartMOH(ctx context.Context, class string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moh = append(c.moh, time.Since(c.start))
	return nil
}

func (c *scripted) Gather(ctx context.Context, media []string, spec asterisk.GatherSpec) (string, error) {
	c.mu.Lock()
	c.heard = append(c.heard, heardAt{time.Since(c.start), media, spec.Max > 0})
	c.mu.Unlock()
	for range media {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if spec.Max == 0 {
		return "", nil
	}
	if c.press != nil {
		if k := c.press(media); k != "" {
			return k, nil
		}
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(spec.FirstDigit):
		return "", nil
	}
}

// announcements are the times the caller heard its position.
func (c *scripted) announcements() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at []time.Duration
	for _, h := range c.heard {
		if slices.Contains(h.media, "sound:centralino/posizione_in_coda") {
			at = append(at, h.at)
		}
	}
	return at
}

// offers are the times the recall was offered.
func (c *scripted) offers() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at []time.Duration
	for _, h := range c.heard {
		if h.keys && slices.Contains(h.media, "sound:centralino/offerta_richiamata_attesa") {
			at = append(at, h.at)
		}
	}
	return at
}

// waitRig is one caller waiting with no agent logged in.
type waitRig struct {
	store   *queue.Store
	op      *queue.Operator
	recalls *recalls
}

func newWaitRig(t *testing.T, cfg queue.OperatorConfig) waitRig {
	store, _, _ := queuetest.Store(t) // in the bubble: its client is the bubble's
	svc := queue.NewService(store, queue.Options{Clock: time.Now, Log: quiet()})
	r := waitRig{store: store, recalls: &recalls{}}
	cfg.Instance = "bubble"
	r.op = queue.NewOperator(cfg, store, svc, nil, r.recalls, time.Now, prometheus.NewRegistry(), quiet())
	return r
}

// serve runs the caller's wait; hangUp ends it. The test ends only once
// the wait has (a bubble must not be left with goroutines).
func (r waitRig) serve(t *testing.T, c *scripted, caller string) (served <-chan queue.Handoff, hangUp func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan queue.Handoff, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h, err := r.op.Serve(ctx, c, queue.Ticket{CallID: uuid.New(), Caller: caller, Queue: "booking"})
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		out <- h
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out, cancel
}

func TestAnnouncementsOnEntryAndEvery45Seconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newWaitRig(t, queue.OperatorConfig{DefaultHandleTime: 30 * time.Second}) // estimate 40 s: no offer on entry
		c := &scripted{start: time.Now()}
		served, hangUp := r.serve(t, c, "+393471234567")
		time.Sleep(150 * time.Second)
		synctest.Wait()
		// On entry, then every 45 s; the two-minute offer at 120 s, once.
		require.Equal(t, []time.Duration{0, 45 * time.Second, 90 * time.Second, 120 * time.Second, 135 * time.Second}, c.announcements())
		require.Equal(t, []time.Duration{120 * time.Second}, c.offers())
		// The music starts once each announcement has been said (three
		// items: position, number, "less than a minute"; the offer four,
		// then five seconds for the key).
		require.Equal(t, []time.Duration{3 * time.Second, 48 * time.Second, 93 * time.Second, 129 * time.Second, 138 * time.Second}, c.moh)
		ids, err := r.store.Waiting(context.Background(), "booking")
		require.NoError(t, err)
		require.Len(t, ids, 1, "still waiting after the offer went unanswered")

		hangUp()
		h := <-served
		require.Equal(t, calls.OutcomeAbandoned, h.Outcome)
		require.Equal(t, 150*time.Second, h.Waited)
		ids, err = r.store.Waiting(context.Background(), "booking")
		require.NoError(t, err)
		require.Empty(t, ids, "an abandoned caller leaves the queue")
	})
}

func TestOfferOnEntryWhenTheEstimatePassesTwoMinutes(t *testing.T) {
	tests := []struct {
		name   string
		caller string
		press  string
		// what the caller hears: offers (seconds after entry), and
		// the outcome after 200 s
		offers  []time.Duration
		outcome calls.Outcome
	}{
		// Estimate 4 min 10 s on entry: offered at once; 1 keeps the
		// place through a recall and the call ends.
		{"accepted", "+393471234567", "1", []time.Duration{0}, calls.OutcomeRecallRequested},
		// Not accepted: offered once, never again.
		{"declined", "+393471234567", "", []time.Duration{0}, ""},
		// A withheld number cannot be called back: never offered.
		{"withheld", "", "1", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newWaitRig(t, queue.OperatorConfig{DefaultHandleTime: 4 * time.Minute})
				c := &scripted{start: time.Now(), press: func(media []string) string {
					if strings.HasSuffix(media[len(media)-1], "/offerta_richiamata_attesa") {
						return tt.press
					}
					return ""
				}}
				entered := time.Now()
				served, hangUp := r.serve(t, c, tt.caller)
				time.Sleep(200 * time.Second)
				synctest.Wait()
				require.Equal(t, tt.offers, c.offers())
				var h queue.Handoff
				select {
				case h = <-served:
				default:
					hangUp() // still waiting: the caller hangs up
					require.Equal(t, calls.OutcomeAbandoned, (<-served).Outcome)
				}
				require.Equal(t, tt.outcome, h.Outcome)
				if tt.outcome == calls.OutcomeRecallRequested {
					require.Equal(t, int64(1), h.RecallID)
					require.Len(t, r.recalls.kept, 1)
					require.Equal(t, "+393471234567", r.recalls.kept[0].Caller)
					require.True(t, entered.Equal(r.recalls.enteredAt[0]), "the recall keeps the time the caller entered")
					// Six items of offer, the key, two of goodbye.
					require.Equal(t, 8*time.Second, h.Waited)
					ids, err := r.store.Waiting(context.Background(), "booking")
					require.NoError(t, err)
					require.Equal(t, []string{queue.RecallCallID(1)}, ids, "the recall took the caller's place")
				}
			})
		})
	}
}

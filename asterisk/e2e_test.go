package asterisk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
)

// These tests run against the real Asterisk sandbox, one at a time: some
// restart Asterisk or need the numero verde's application absent.

type handler struct {
	handle  func(ctx context.Context, c *asterisk.Call)
	recover func(ctx context.Context, c *asterisk.Call)
}

func (h handler) Handle(ctx context.Context, c *asterisk.Call) { h.handle(ctx, c) }
func (h handler) Recover(ctx context.Context, c *asterisk.Call) {
	if h.recover != nil {
		h.recover(ctx, c)
	}
}

func start(t *testing.T, cfg asterisk.Config, h asterisk.Handler) (*asterisk.Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := asterisk.New(cfg, h, reg, asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, c.Start(ctx))
	t.Cleanup(c.Stop)
	return c, reg
}

// pair starts an "IVR" client with h and a caller client, and returns a
// function placing a call from the caller into the IVR application.
func pair(t *testing.T, h asterisk.Handler) (ivr *asterisk.Client, place func() *asterisk.Call) {
	t.Helper()
	app := asteristest.App("t-ivr")
	ivr, _ = start(t, asteristest.Config(t, app), h)
	caller, _ := start(t, asteristest.Config(t, asteristest.App("t-caller")), handler{handle: func(context.Context, *asterisk.Call) {}})
	return ivr, func() *asterisk.Call {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		call, res, err := caller.Dial(ctx, "Local/"+app+"@sim-stasis/n", "3471234567", 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, asterisk.Answered, res)
		t.Cleanup(func() { call.Hangup(context.Background()); caller.Release(call) })
		return call
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, within time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("nothing within %s", within)
		panic("unreachable")
	}
}

func TestStasisStartAndAnswer(t *testing.T) {
	got := make(chan *asterisk.Call, 1)
	ended := make(chan struct{})
	_, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if c.Answer(ctx) == nil {
			got <- c
		}
		<-ctx.Done() // until the caller hangs up
		close(ended)
	}})
	caller := place()
	c := waitFor(t, got, 5*time.Second)
	require.Equal(t, "3471234567", c.Caller())
	// The caller hangs up: the IVR's call context ends.
	require.NoError(t, caller.Hangup(context.Background()))
	waitFor(t, ended, 5*time.Second)
}

func TestPlayBargeIn(t *testing.T) {
	type result struct {
		key     string
		elapsed time.Duration
		err     error
	}
	res := make(chan result, 1)
	playing := make(chan struct{}, 1)
	_, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if err := c.Answer(ctx); err != nil {
			res <- result{err: err}
			return
		}
		// About 20 seconds of prompts.
		media := []string{}
		for range 10 {
			media = append(media, "sound:queue-periodic-announce")
		}
		playing <- struct{}{}
		start := time.Now()
		k, err := c.Gather(ctx, media, asterisk.GatherSpec{Max: 1, FirstDigit: 5 * time.Second})
		res <- result{k, time.Since(start), err}
	}})
	caller := place()
	waitFor(t, playing, 5*time.Second)
	time.Sleep(700 * time.Millisecond) // into the first prompt
	require.NoError(t, caller.SendDTMF(context.Background(), "5", 100*time.Millisecond, 0))
	r := waitFor(t, res, 10*time.Second)
	require.NoError(t, r.err)
	require.Equal(t, "5", r.key)
	require.Less(t, r.elapsed, 3*time.Second, "the key stopped the prompts")
}

func TestGather(t *testing.T) {
	tests := []struct {
		name    string
		keys    string
		spec    asterisk.GatherSpec
		want    string
		atLeast time.Duration
	}{
		// Nothing pressed: the first-digit timeout ends it, empty.
		{"first digit timeout", "", asterisk.GatherSpec{Max: 4, FirstDigit: time.Second, InterDigit: time.Second}, "", time.Second},
		// Two keys then silence: the inter-digit timeout returns them.
		{"inter digit timeout", "12", asterisk.GatherSpec{Max: 4, FirstDigit: 5 * time.Second, InterDigit: time.Second}, "12", time.Second},
		// The terminator ends early and is not returned.
		{"terminator", "12#", asterisk.GatherSpec{Max: 10, FirstDigit: 5 * time.Second, InterDigit: 5 * time.Second, Terminator: "#"}, "12", 0},
		// Max digits ends it; the rest stays for the next gather.
		{"max digits", "123456", asterisk.GatherSpec{Max: 4, FirstDigit: 5 * time.Second, InterDigit: 5 * time.Second}, "1234", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				keys    string
				elapsed time.Duration
				err     error
			}
			res := make(chan result, 1)
			ready := make(chan struct{}, 1)
			_, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
				if err := c.Answer(ctx); err != nil {
					res <- result{err: err}
					return
				}
				ready <- struct{}{}
				start := time.Now()
				k, err := c.Gather(ctx, nil, tt.spec)
				res <- result{k, time.Since(start), err}
			}})
			caller := place()
			waitFor(t, ready, 5*time.Second)
			if tt.keys != "" {
				require.NoError(t, caller.SendDTMF(context.Background(), tt.keys, 80*time.Millisecond, 60*time.Millisecond))
			}
			r := waitFor(t, res, 10*time.Second)
			require.NoError(t, r.err)
			require.Equal(t, tt.want, r.keys)
			require.GreaterOrEqual(t, r.elapsed, tt.atLeast)
		})
	}
}

// GatherSpec.Listen: a menu that confirms what its first media item says
// takes no key before that item has been heard to its end, typed ahead or
// pressed while it plays; the question after it is barged into as usual.
func TestGatherListen(t *testing.T) {
	const (
		said     = "sound:queue-thankyou" // about 1.5 s: what is confirmed
		question = "sound:vm-intro"       // about 7 s: the choices
		saidLen  = 1500 * time.Millisecond
		total    = 8500 * time.Millisecond
	)
	tests := []struct {
		name string
		// Keys pressed before the gather begins (typeAhead), 0.5 s into
		// what is said (during), and 0.5 s into the question (after).
		typeAhead, during, after string
		listen                   int
		want                     string
		// inFull: the media played to its end (no key stopped it).
		inFull bool
	}{
		// A key while the slot is said is discarded and the slot goes on;
		// the key during the choices answers and cuts them short.
		{name: "key before the end is discarded", during: "1", after: "2", listen: 1, want: "2"},
		// A discarded key is no answer: the gather times out empty, as
		// with nothing pressed, after hearing it all.
		{name: "a discarded key is no answer", during: "1", listen: 1, want: "", inFull: true},
		// A key typed ahead of the menu is flushed.
		{name: "type-ahead is flushed", typeAhead: "9", after: "2", listen: 1, want: "2"},
		// Without Listen the same keys barge in and type-ahead counts, as
		// in the main menu and code entry.
		{name: "without listen a key barges in", during: "1", after: "2", want: "1"},
		{name: "without listen type-ahead counts", typeAhead: "9", want: "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type result struct {
				keys    string
				elapsed time.Duration
				err     error
			}
			res := make(chan result, 1)
			ready, begin := make(chan struct{}, 1), make(chan struct{})
			_, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
				if err := c.Answer(ctx); err != nil {
					res <- result{err: err}
					return
				}
				ready <- struct{}{}
				<-begin
				start := time.Now()
				k, err := c.Gather(ctx, []string{said, question}, asterisk.GatherSpec{Max: 1, FirstDigit: time.Second, Listen: tt.listen})
				res <- result{k, time.Since(start), err}
			}})
			caller := place()
			waitFor(t, ready, 5*time.Second)
			key := func(k string) {
				if k != "" {
					require.NoError(t, caller.SendDTMF(context.Background(), k, 100*time.Millisecond, 0))
				}
			}
			key(tt.typeAhead)
			time.Sleep(500 * time.Millisecond) // the keys typed ahead have reached the IVR
			close(begin)
			time.Sleep(500 * time.Millisecond)
			key(tt.during)
			time.Sleep(saidLen)
			key(tt.after)
			r := waitFor(t, res, 15*time.Second)
			require.NoError(t, r.err)
			require.Equal(t, tt.want, r.keys)
			if tt.inFull {
				require.GreaterOrEqual(t, r.elapsed, total, "the media played to its end")
			} else {
				require.Less(t, r.elapsed, total-2*time.Second, "a key taken cut the question short")
			}
		})
	}
}

func TestBridgeAndHangups(t *testing.T) {
	var mu sync.Mutex
	var legs []*asterisk.Call
	bridged := make(chan error, 1)
	entered := make(chan struct{}, 2)
	endedA, endedB := make(chan struct{}), make(chan struct{})
	var ivr *asterisk.Client
	ivr, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if c.Answer(ctx) != nil {
			return
		}
		mu.Lock()
		legs = append(legs, c)
		n := len(legs)
		mu.Unlock()
		entered <- struct{}{}
		if n == 2 {
			b, err := ivr.Bridge(ctx, legs[0].ID(), legs[1].ID())
			bridged <- err
			if err == nil {
				defer b.Destroy(context.Background())
			}
		}
		<-ctx.Done()
		if n == 1 {
			close(endedA)
			// Like the queue: when one side leaves, release the other.
			mu.Lock()
			if len(legs) > 1 {
				legs[1].Hangup(context.Background())
			}
			mu.Unlock()
		} else {
			close(endedB)
		}
	}})
	a := place()
	waitFor(t, entered, 5*time.Second) // a is legs[0]
	b := place()
	require.NoError(t, waitFor(t, bridged, 5*time.Second))
	require.NoError(t, a.Hangup(context.Background()))
	waitFor(t, endedA, 5*time.Second)
	waitFor(t, endedB, 5*time.Second)
	// The caller's second leg is gone too.
	select {
	case <-b.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the other side was not released")
	}
}

func TestDialResults(t *testing.T) {
	cfg := asteristest.Config(t, asteristest.App("t-dial"))
	c, _ := start(t, cfg, handler{handle: func(context.Context, *asterisk.Call) {}})
	tests := []struct {
		endpoint string
		want     asterisk.DialResult
	}{
		{"Local/noanswer@sim-agents/n", asterisk.NoAnswer}, // rings out
		{"Local/busy@sim-agents/n", asterisk.Busy},         // busy
		{"Local/a1@sim-agents/n", asterisk.Answered},       // answers after a second
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			call, res, err := c.Dial(ctx, tt.endpoint, "800466222", 2*time.Second)
			require.NoError(t, err)
			require.Equal(t, tt.want, res)
			if call != nil {
				require.NoError(t, call.Hangup(ctx))
				c.Release(call)
			}
		})
	}
}

func TestSlowHandlerLosesNoEvent(t *testing.T) {
	res := make(chan string, 1)
	ready := make(chan struct{}, 1)
	ivr, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if c.Answer(ctx) != nil {
			return
		}
		ready <- struct{}{}
		// A handler busy elsewhere (a slow database) while 20 keys and
		// their events arrive: nothing may be lost.
		time.Sleep(3 * time.Second)
		k, _ := c.Gather(ctx, nil, asterisk.GatherSpec{Max: 20, FirstDigit: 3 * time.Second, InterDigit: 3 * time.Second})
		res <- k
	}})
	_ = ivr
	caller := place()
	waitFor(t, ready, 5*time.Second)
	require.NoError(t, caller.SendDTMF(context.Background(), "12345678901234567890", 60*time.Millisecond, 40*time.Millisecond))
	require.Equal(t, "12345678901234567890", waitFor(t, res, 15*time.Second))
}

func TestRecoverAfterControllerRestart(t *testing.T) {
	app := asteristest.App("t-recover")
	cfg := asteristest.Config(t, app)
	inStasis := make(chan string, 1)
	first := asterisk.New(cfg, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if c.Answer(ctx) == nil {
			inStasis <- c.ID()
		}
		<-ctx.Done() // the "controller" dies with the call in Stasis
	}}, prometheus.NewRegistry(), asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, first.Start(ctx))
	caller, _ := start(t, asteristest.Config(t, asteristest.App("t-caller")), handler{handle: func(context.Context, *asterisk.Call) {}})
	call, res, err := caller.Dial(ctx, "Local/"+app+"@sim-stasis/n", "3471234567", 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, asterisk.Answered, res)
	defer caller.Release(call)
	id := waitFor(t, inStasis, 5*time.Second)
	first.Stop()

	// A new controller finds the call and greets it: not orphaned.
	recovered := make(chan string, 1)
	start(t, cfg, handler{handle: func(context.Context, *asterisk.Call) {}, recover: func(ctx context.Context, c *asterisk.Call) {
		_, err := c.Play(ctx, "sound:beep")
		if err == nil {
			recovered <- c.ID()
		}
		c.Hangup(ctx)
	}})
	require.Equal(t, id, waitFor(t, recovered, 10*time.Second))
	select {
	case <-call.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the recovered call was not ended by its new owner")
	}
}

// A call that enters the application while a connecting client lists the
// channels to recover is listed too, but its StasisStart is still in the
// websocket: it is a new call, for Handle, not one to recover.
func TestCallEnteringDuringRecoveryIsNew(t *testing.T) {
	app := asteristest.App("t-late")
	cfg := asteristest.Config(t, app)
	ari, err := url.Parse(cfg.URL)
	require.NoError(t, err)
	// Asterisk behind a proxy that holds the client's listing until the
	// call is in the application.
	listing, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: ari.Scheme, Host: ari.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == ari.Path+"/applications/"+app {
			select {
			case listing <- struct{}{}:
			default:
			}
			<-release
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	via := cfg
	via.URL = srv.URL + ari.Path
	got := make(chan string, 2)
	start(t, via, handler{
		handle: func(ctx context.Context, c *asterisk.Call) {
			got <- "handle"
			c.Answer(ctx)
			<-ctx.Done()
		},
		recover: func(ctx context.Context, c *asterisk.Call) {
			got <- "recover"
			c.Hangup(ctx)
		},
	})
	waitFor(t, listing, 5*time.Second) // the websocket is open
	caller, _ := start(t, asteristest.Config(t, asteristest.App("t-caller")), handler{handle: func(context.Context, *asterisk.Call) {}})
	dialled := make(chan asterisk.DialResult, 1)
	go func() {
		call, res, err := caller.Dial(context.Background(), "Local/"+app+"@sim-stasis/n", "3471234567", 10*time.Second)
		if err == nil && res == asterisk.Answered {
			defer caller.Release(call)
			defer call.Hangup(context.Background())
		}
		dialled <- res
	}()
	require.Eventually(t, func() bool { return len(channelsIn(t, cfg)) > 0 }, 5*time.Second, 10*time.Millisecond)
	once.Do(func() { close(release) })
	require.Equal(t, "handle", waitFor(t, got, 10*time.Second))
	require.Equal(t, asterisk.Answered, waitFor(t, dialled, 10*time.Second))
}

// channelsIn lists the channels of cfg's application, asking Asterisk.
func channelsIn(t *testing.T, cfg asterisk.Config) []string {
	req, err := http.NewRequest(http.MethodGet, cfg.URL+"/applications/"+cfg.Application, nil)
	require.NoError(t, err)
	req.SetBasicAuth(cfg.User, cfg.Password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&app))
	return app.ChannelIDs
}

func TestAsteriskRestartUnderController(t *testing.T) {
	asteristest.Exclusive(t) // nobody else may use Asterisk meanwhile
	answered := make(chan struct{}, 4)
	ivr, place := pair(t, handler{handle: func(ctx context.Context, c *asterisk.Call) {
		if c.Answer(ctx) == nil {
			answered <- struct{}{}
		}
		<-ctx.Done()
	}})
	asteristest.Sandbox(t, "restart")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The controller reconnects by itself, without crashing...
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, ivr.WaitConnected(ctx))
	// ...and new calls work (the caller client reconnected too).
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := func() (ok bool) {
			defer func() { ok = recover() == nil && ok }()
			place()
			return true
		}()
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitFor(t, answered, 10*time.Second)
}

func TestFallbackWhenControllerIsDown(t *testing.T) {
	asteristest.LockCentralino(t) // the numero verde's app must be absent
	cfg := asteristest.Config(t, asteristest.App("t-fallback"))
	cfg.SubscribeAll = true
	c, _ := start(t, cfg, handler{handle: func(context.Context, *asterisk.Call) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	other := "fallback-" + asteristest.App("x")
	w, err := c.Watch(ctx, other)
	require.NoError(t, err)
	defer w.Close()
	call, err := c.Originate(ctx, asterisk.OriginateRequest{Endpoint: "Local/800466222@from-trunk/n", CallerID: "3471234567",
		Timeout: 10 * time.Second, OtherID: other})
	require.NoError(t, err)
	defer c.Release(call)
	for {
		e, err := w.Next(ctx)
		require.NoError(t, err, "no fallback seen")
		if e.Kind == asterisk.EventUser && e.Media == "CentralinoFallback" {
			break
		}
	}
}

// Global variables round-trip through ARI, and the queue benchmark's
// dialplan marks an agent's first ring in one, to the microsecond.
func TestGlobalVarsAndBenchRingMark(t *testing.T) {
	c, _ := start(t, asteristest.Config(t, asteristest.App("t-globals")), handler{handle: func(context.Context, *asterisk.Call) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	caller := fmt.Sprintf("349%07d", time.Now().UnixNano()%10_000_000)
	name := "BENCH_RING_" + caller
	require.NoError(t, c.SetGlobalVar(ctx, name, ""))
	v, err := c.GlobalVar(ctx, name)
	require.NoError(t, err)
	require.Empty(t, v, "cleared")

	// The simulated agent answers after its ring (a second): by then its
	// dialplan has passed the mark.
	ring := func() string {
		call, res, err := c.Dial(ctx, "Local/r01@sim-agents-bench/n", caller, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, asterisk.Answered, res)
		require.NoError(t, call.Hangup(ctx))
		c.Release(call)
		mark, err := c.GlobalVar(ctx, name)
		require.NoError(t, err)
		return mark
	}
	first := ring()
	require.Regexp(t, `^[0-9]{10}\.[0-9]{6}$`, first, "seconds.microseconds")
	// A second ring (a requeued caller) keeps the first mark.
	require.Equal(t, first, ring())
	require.NoError(t, c.SetGlobalVar(ctx, name, ""))
	v, err = c.GlobalVar(ctx, name)
	require.NoError(t, err)
	require.Empty(t, v)
}

// An agent rung for a caller (Ring with the caller as Originator) speaks
// the caller's codec: the trunk's A-law, not the slin192 Asterisk gives a
// Local channel made for nobody, whose every frame is resampled.
func TestRingTakesTheCallersCodec(t *testing.T) {
	type leg struct{ caller, agent string }
	got := make(chan leg, 1)
	var ivr *asterisk.Client
	ivr, _ = start(t, asteristest.Config(t, asteristest.App("t-codec")), handler{handle: func(ctx context.Context, c *asterisk.Call) {
		defer c.Hangup(context.Background())
		a, res, err := ivr.Ring(ctx, asterisk.OriginateRequest{Endpoint: "Local/r01@sim-agents-bench/n", CallerID: c.Caller(),
			Timeout: 5 * time.Second, Originator: c.ID()})
		if err != nil || res != asterisk.Answered {
			t.Errorf("ring: %v %v", res, err)
			return
		}
		defer ivr.Release(a)
		defer a.Hangup(context.Background())
		cf, _ := c.Var(ctx, "CHANNEL(audionativeformat)")
		af, _ := a.Var(ctx, "CHANNEL(audionativeformat)")
		got <- leg{cf, af}
	}})
	trunk, _ := start(t, asteristest.Config(t, asteristest.App("t-trunk")), handler{handle: func(context.Context, *asterisk.Call) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	call, err := trunk.Originate(ctx, asterisk.OriginateRequest{Endpoint: "Local/" + ivr.Application() + "@sim-stasis/n",
		CallerID: "3471234567", Timeout: 10 * time.Second, Formats: asterisk.TrunkFormats})
	require.NoError(t, err)
	defer trunk.Release(call)
	defer call.Hangup(context.Background())
	l := waitFor(t, got, 10*time.Second)
	require.Equal(t, "(alaw)", l.caller, "the simulated trunk's codec")
	require.Equal(t, "(alaw)", l.agent, "the agent's leg takes the caller's codec")
}

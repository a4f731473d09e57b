// Package bench runs the same call load through Asterisk's app_queue and
// through centralino's queue on the same Asterisk sandbox, with the same
// simulated agents, and compares how fast a caller entering the queue
// makes an agent's phone ring, and the calls per second routed.
//
// Both paths are timed on Asterisk's clock by dialplan user events: the
// caller raises BenchEnqueue just before Queue() or Stasis(), the agent's
// phone raises BenchRing when it starts ringing (extensions_sim.conf,
// contexts bench-appqueue, bench-centralino and sim-agents-bench).
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/queue"
)

// Options size the load.
type Options struct {
	Calls  int     // callers per run
	Agents int     // simulated agents
	Rate   float64 // callers entering per second
}

// Result is the benchmark's last line.
type Result struct {
	Calls          int     `json:"calls"`
	AppQueueP50    float64 `json:"app_queue_p50_ms"`
	AppQueueP99    float64 `json:"app_queue_p99_ms"`
	CentralinoP50  float64 `json:"centralino_p50_ms"`
	CentralinoP99  float64 `json:"centralino_p99_ms"`
	AppQueueCPS    float64 `json:"app_queue_calls_per_s"`
	CentralinoCPS  float64 `json:"centralino_calls_per_s"`
	centralinoRung int
	appQueueRung   int
}

// observer collects the user events of every channel.
type observer struct {
	mu      sync.Mutex
	enqueue map[string]time.Time // by caller number
	ring    map[string]time.Time
}

func (o *observer) on(e asterisk.UserEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch e.Name {
	case "BenchEnqueue":
		o.enqueue[e.Caller] = e.Stamp
	case "BenchRing":
		if _, seen := o.ring[e.Caller]; !seen {
			o.ring[e.Caller] = e.Stamp
		}
	}
}

// waits is each caller's enqueue → ringing.
func (o *observer) waits(numbers []string) map[string]time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := map[string]time.Duration{}
	for _, num := range numbers {
		in, ok1 := o.enqueue[num]
		r, ok2 := o.ring[num]
		if ok1 && ok2 {
			w[num] = r.Sub(in)
		}
	}
	return w
}

func (o *observer) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enqueue, o.ring = map[string]time.Time{}, map[string]time.Time{}
}

// measure waits until every caller's agent rang (or ctx ends) and returns
// the latencies and the routing rate.
func (o *observer) measure(ctx context.Context, numbers []string) ([]time.Duration, float64, int) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		o.mu.Lock()
		n := len(o.ring)
		o.mu.Unlock()
		if n >= len(numbers) {
			break
		}
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var lat []time.Duration
	var first, last time.Time
	for _, num := range numbers {
		in, ok1 := o.enqueue[num]
		r, ok2 := o.ring[num]
		if !ok1 || !ok2 {
			continue
		}
		lat = append(lat, r.Sub(in))
		if first.IsZero() || in.Before(first) {
			first = in
		}
		if r.After(last) {
			last = r
		}
	}
	cps := 0.0
	if len(lat) > 1 && last.After(first) {
		cps = float64(len(lat)) / last.Sub(first).Seconds()
	}
	return lat, cps, len(lat)
}

// serve is the centralino side: every caller goes straight to the queue.
type serve struct{ op *queue.Operator }

// Handle queues the caller at once (the dialplan answered it, as the IVR
// would have before handing it over).
func (s serve) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	_, _ = s.op.Serve(ctx, ivr.NewCall(c), ivr.Ticket{CallID: uuid.New(), Caller: c.Caller(), Queue: "bench"})
}
func (serve) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// Run runs both and prints per-system lines and the JSON line.
func Run(ctx context.Context, ari asterisk.Config, rdb *redis.Client, recalls ivr.Recalls, o Options, log *slog.Logger, out io.Writer) (Result, error) {
	res := Result{Calls: o.Calls}
	obs := &observer{}
	obs.reset()
	obsCfg := ari
	obsCfg.Application = "bench-queue-" + uuid.NewString()[:8]
	obsCfg.SubscribeAll = true
	obsCfg.OnUserEvent = obs.on
	observerClient := asterisk.New(obsCfg, noCalls{}, prometheus.NewRegistry(), log)
	if err := observerClient.Start(ctx); err != nil {
		return res, err
	}
	defer observerClient.Stop()
	fire := func(endpoint, caller string) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if c, err := observerClient.Originate(cctx, asterisk.OriginateRequest{Endpoint: endpoint, CallerID: caller, Timeout: 60 * time.Second}); err == nil {
			observerClient.Release(c)
		}
	}
	agent := func(i int) string { return fmt.Sprintf("r%02d", i+1) }

	// app_queue: agents join cup-bench, callers enter Queue().
	for i := range o.Agents {
		fire("Local/join-bench-"+agent(i)+"@sim-queue/n", "")
	}
	defer func() {
		for i := range o.Agents {
			fire("Local/leave-bench-"+agent(i)+"@sim-queue/n", "")
		}
	}()
	time.Sleep(time.Second)
	numbers := load(ctx, o, 1, func(num string) { fire("Local/q@bench-appqueue/n", num) })
	mctx, mcancel := context.WithTimeout(ctx, time.Minute)
	lat, cps, rung := obs.measure(mctx, numbers)
	mcancel()
	res.AppQueueP50, res.AppQueueP99, res.AppQueueCPS, res.appQueueRung = pct(lat, 50), pct(lat, 99), cps, rung
	fmt.Fprintf(out, "app_queue:  %d/%d callers rang an agent; enqueue→ringing p50 %.1f ms, p99 %.1f ms; %.1f calls/s\n",
		rung, o.Calls, res.AppQueueP50, res.AppQueueP99, cps)
	time.Sleep(5 * time.Second) // the last calls end

	// centralino: the same agents in a Redis queue, callers enter Stasis.
	obs.reset()
	cr, err := runCentralino(ctx, ari, rdb, recalls, o, 2, obs, fire, nil, log)
	if err != nil {
		return res, err
	}
	res.CentralinoP50, res.CentralinoP99, res.CentralinoCPS, res.centralinoRung = pct(cr.lat, 50), pct(cr.lat, 99), cr.cps, cr.rung
	fmt.Fprintf(out, "centralino: %d/%d callers rang an agent; enqueue→ringing p50 %.1f ms, p99 %.1f ms; %.1f calls/s\n",
		cr.rung, o.Calls, res.CentralinoP50, res.CentralinoP99, cr.cps)
	time.Sleep(5 * time.Second)

	// The wait estimate: more callers than the agents can take at once,
	// each caller's estimate on entry against its actual wait.
	obs.reset()
	var emu sync.Mutex
	estimates := map[string]time.Duration{}
	onEstimate := func(t ivr.Ticket, ewt time.Duration) {
		emu.Lock()
		estimates[t.Caller] = ewt
		emu.Unlock()
	}
	eo := Options{Calls: 60, Agents: 4, Rate: 2}
	er, err := runCentralino(ctx, ari, rdb, recalls, eo, 3, obs, fire, onEstimate, log)
	if err != nil {
		return res, err
	}
	var sum, abs time.Duration
	n := 0
	emu.Lock()
	for num, wait := range er.waits {
		ewt, ok := estimates[num]
		if !ok || wait < 2*time.Second {
			continue // served at once: nothing to estimate
		}
		sum += ewt - wait
		abs += max(ewt-wait, wait-ewt)
		n++
	}
	emu.Unlock()
	if n > 0 {
		fmt.Fprintf(out, "wait estimate on entry vs actual wait (%d queued callers, %d agents, %.0f callers/s): mean error %+.1f s, mean absolute error %.1f s\n",
			n, eo.Agents, eo.Rate, (sum / time.Duration(n)).Seconds(), (abs / time.Duration(n)).Seconds())
	}
	if res.AppQueueP50 > 0 {
		fmt.Fprintf(out, "ratios centralino/app_queue: p50 %.2f, p99 %.2f, calls/s %.2f\n",
			res.CentralinoP50/res.AppQueueP50, res.CentralinoP99/res.AppQueueP99, res.CentralinoCPS/res.AppQueueCPS)
	}
	time.Sleep(5 * time.Second)
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	if res.centralinoRung < o.Calls || res.appQueueRung < o.Calls {
		return res, errors.New("some callers never reached an agent (see the lines above)")
	}
	return res, nil
}

type centralinoRun struct {
	lat   []time.Duration
	waits map[string]time.Duration // by caller number
	cps   float64
	rung  int
}

// runCentralino runs one load through a fresh Redis queue and agents.
func runCentralino(ctx context.Context, ari asterisk.Config, rdb *redis.Client, recalls ivr.Recalls, o Options, run int,
	obs *observer, fire func(endpoint, caller string), onEstimate func(ivr.Ticket, time.Duration), log *slog.Logger) (centralinoRun, error) {
	var r centralinoRun
	prefix := "bench:" + uuid.NewString()[:8]
	defer func() {
		keys, _ := rdb.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	}()
	store := queue.NewStore(rdb, prefix)
	svc := queue.NewService(store, queue.Options{WrapUp: -1, Log: log})
	for i := range o.Agents {
		id := fmt.Sprintf("r%02d", i+1)
		if err := svc.Login(ctx, id, "Local/"+id+"@sim-agents-bench/n", []string{"bench"}); err != nil {
			return r, err
		}
		if err := svc.Ready(ctx, id); err != nil {
			return r, err
		}
	}
	appCfg := ari
	appCfg.Application = "bench-cq-" + uuid.NewString()[:8]
	var op *queue.Operator
	ctl := asterisk.New(appCfg, &lazyServe{op: &op}, prometheus.NewRegistry(), log)
	op = queue.NewOperator(queue.OperatorConfig{Instance: appCfg.Application, RecallAfter: time.Hour, OnEstimate: onEstimate,
		DefaultHandleTime: 3 * time.Second}, store, svc, ctl, recalls, nil, prometheus.NewRegistry(), log)
	if err := ctl.Start(ctx); err != nil {
		return r, err
	}
	defer ctl.Stop()
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go op.Run(rctx, []string{"bench"})
	numbers := load(ctx, o, run, func(num string) { fire("Local/"+appCfg.Application+"@bench-centralino/n", num) })
	mctx, mcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer mcancel()
	r.lat, r.cps, r.rung = obs.measure(mctx, numbers)
	r.waits = obs.waits(numbers)
	time.Sleep(4 * time.Second) // the last calls end
	return r, nil
}

// lazyServe lets the client exist before the operator that needs it.
type lazyServe struct{ op **queue.Operator }

func (l *lazyServe) Handle(ctx context.Context, c *asterisk.Call) { serve{*l.op}.Handle(ctx, c) }
func (l *lazyServe) Recover(ctx context.Context, c *asterisk.Call) {
	c.Hangup(ctx)
}

type noCalls struct{}

func (noCalls) Handle(ctx context.Context, c *asterisk.Call)  {}
func (noCalls) Recover(ctx context.Context, c *asterisk.Call) {}

// load places o.Calls callers at o.Rate per second with distinct caller
// numbers (run distinguishes the two runs' numbers).
func load(ctx context.Context, o Options, run int, place func(num string)) []string {
	numbers := make([]string, o.Calls)
	every := time.Duration(float64(time.Second) / o.Rate)
	var wg sync.WaitGroup
	for i := range o.Calls {
		numbers[i] = fmt.Sprintf("34%d%07d", run, i)
		wg.Add(1)
		go func(num string) {
			defer wg.Done()
			place(num)
		}(numbers[i])
		select {
		case <-ctx.Done():
			return numbers[:i+1]
		case <-time.After(every):
		}
	}
	wg.Wait()
	return numbers
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p/100)].Microseconds()) / 1000
}

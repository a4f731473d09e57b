// Package bench runs the same call load through Asterisk's app_queue and
// through centralino's queue on the same Asterisk sandbox, with the same
// simulated agents, and compares how fast a caller handed to the queue
// makes an agent's phone ring, and the calls per second routed.
//
// Every time is on Asterisk's clock, to the microsecond: the dialplan marks
// the moment a caller is handed over and the moment an agent's phone rings
// in global variables (extensions_sim.conf, contexts bench-*), read back
// over ARI after each run, so no event subscriber loads Asterisk while it
// is measured.
//
// The head-to-head runs enter the same way: the caller is handed to the
// controller's Stasis application, as the IVR holds a caller who keys 0 for
// an operator. From there the controller either queues it in centralino's
// queue, or continues it into the dialplan's Queue() with one ARI request,
// the least any ARI IVR needs to reach app_queue (the product's
// ivr.AppQueue sets four variables first; the benchmark spares app_queue
// those). A third run, for reference, enters app_queue straight from the
// dialplan with no ARI at all: the floor of a PBX whose IVR is dialplan.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/queue"
)

// Options size the load.
type Options struct {
	Calls  int     // callers per run
	Agents int     // simulated agents
	Rate   float64 // callers entering per second
}

// Result is the benchmark's last line. The app_queue_* figures are app_queue
// reached from the controller (the same entry as centralino's);
// app_queue_dialplan_* are app_queue reached from the dialplan, no ARI.
type Result struct {
	Calls                int     `json:"calls"`
	AppQueueP50          float64 `json:"app_queue_p50_ms"`
	AppQueueP99          float64 `json:"app_queue_p99_ms"`
	CentralinoP50        float64 `json:"centralino_p50_ms"`
	CentralinoP99        float64 `json:"centralino_p99_ms"`
	AppQueueCPS          float64 `json:"app_queue_calls_per_s"`
	CentralinoCPS        float64 `json:"centralino_calls_per_s"`
	AppQueueDialplanP50  float64 `json:"app_queue_dialplan_p50_ms"`
	AppQueueDialplanP99  float64 `json:"app_queue_dialplan_p99_ms"`
	AppQueueDialplanCPS  float64 `json:"app_queue_dialplan_calls_per_s"`
	EstimateMeanErrorS   float64 `json:"estimate_mean_error_s"`
	EstimateMeanAbsError float64 `json:"estimate_mean_abs_error_s"`
}

// run is one load's outcome.
type run struct {
	lat   []time.Duration
	waits map[string]time.Duration // by caller number
	cps   float64
}

func (r run) rung() int { return len(r.lat) }

func (r run) line(out io.Writer, name string, calls int) (p50, p99 float64) {
	p50, p99 = pct(r.lat, 50), pct(r.lat, 99)
	fmt.Fprintf(out, "%-34s %d/%d callers rang an agent; handed over→ringing p50 %.2f ms, p99 %.2f ms; %.1f calls/s\n",
		name+":", r.rung(), calls, p50, p99, r.cps)
	return p50, p99
}

// bench holds what every run shares.
type bench struct {
	ari     asterisk.Config
	placer  *asterisk.Client // places callers and moves app_queue members
	rdb     *redis.Client
	recalls queue.Recalls
	log     *slog.Logger
}

// Run runs the loads and prints per-system lines and the JSON line.
func Run(ctx context.Context, ari asterisk.Config, rdb *redis.Client, recalls queue.Recalls, o Options, log *slog.Logger, out io.Writer) (Result, error) {
	res := Result{Calls: o.Calls}
	placerCfg := ari
	placerCfg.Application = "bench-queue-" + uuid.NewString()[:8]
	placer := asterisk.New(placerCfg, noCalls{}, prometheus.NewRegistry(), log)
	if err := placer.Start(ctx); err != nil {
		return res, err
	}
	defer placer.Stop()
	b := &bench{ari: ari, placer: placer, rdb: rdb, recalls: recalls, log: log}
	agent := func(i int) string { return fmt.Sprintf("r%02d", i+1) }

	// centralino first, on a sandbox no app_queue caller has touched.
	cr, err := b.centralino(ctx, o, 3, nil)
	if err != nil {
		return res, err
	}
	res.CentralinoP50, res.CentralinoP99 = cr.line(out, "centralino from the controller", o.Calls)
	res.CentralinoCPS = cr.cps
	time.Sleep(5 * time.Second) // the last calls end

	// The wait estimate: more callers than the agents can take at once,
	// each caller's estimate on entry against its actual wait.
	var emu sync.Mutex
	estimates := map[string]time.Duration{}
	onEstimate := func(t queue.Ticket, ewt time.Duration) {
		emu.Lock()
		estimates[t.Caller] = ewt
		emu.Unlock()
	}
	eo := Options{Calls: 60, Agents: 4, Rate: 2}
	er, err := b.centralino(ctx, eo, 4, onEstimate)
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
		res.EstimateMeanErrorS = (sum / time.Duration(n)).Seconds()
		res.EstimateMeanAbsError = (abs / time.Duration(n)).Seconds()
		fmt.Fprintf(out, "wait estimate on entry vs actual wait (%d queued callers, %d agents, %.0f callers/s): mean error %+.1f s, mean absolute error %.1f s\n",
			n, eo.Agents, eo.Rate, res.EstimateMeanErrorS, res.EstimateMeanAbsError)
	}
	time.Sleep(5 * time.Second)

	// app_queue: the same simulated agents join cup-bench.
	for i := range o.Agents {
		b.fire(ctx, "Local/join-bench-"+agent(i)+"@sim-queue/n", "")
	}
	defer func() {
		for i := range o.Agents {
			b.fire(context.Background(), "Local/leave-bench-"+agent(i)+"@sim-queue/n", "")
		}
	}()
	time.Sleep(time.Second)
	viaARI, err := b.appQueueViaARI(ctx, o)
	if err != nil {
		return res, err
	}
	res.AppQueueP50, res.AppQueueP99 = viaARI.line(out, "app_queue from the controller", o.Calls)
	res.AppQueueCPS = viaARI.cps
	time.Sleep(5 * time.Second)

	direct, err := b.load(ctx, o, 1, time.Minute, func(num string) { b.fire(ctx, "Local/q@bench-appqueue/n", num) })
	if err != nil {
		return res, err
	}
	res.AppQueueDialplanP50, res.AppQueueDialplanP99 = direct.line(out, "app_queue from the dialplan", o.Calls)
	res.AppQueueDialplanCPS = direct.cps
	time.Sleep(5 * time.Second)

	if res.AppQueueP50 > 0 && res.AppQueueDialplanP50 > 0 {
		fmt.Fprintf(out, "ratios centralino/app_queue from the controller: p50 %.2f, p99 %.2f, calls/s %.2f\n",
			res.CentralinoP50/res.AppQueueP50, res.CentralinoP99/res.AppQueueP99, res.CentralinoCPS/res.AppQueueCPS)
		fmt.Fprintf(out, "ratios centralino/app_queue from the dialplan:   p50 %.2f, p99 %.2f, calls/s %.2f\n",
			res.CentralinoP50/res.AppQueueDialplanP50, res.CentralinoP99/res.AppQueueDialplanP99, res.CentralinoCPS/res.AppQueueDialplanCPS)
	}
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	if direct.rung() < o.Calls || viaARI.rung() < o.Calls || cr.rung() < o.Calls {
		return res, errors.New("some callers never reached an agent (see the lines above)")
	}
	return res, nil
}

// fire places a call from the placer and forgets it.
func (b *bench) fire(ctx context.Context, endpoint, caller string) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := b.placer.Originate(cctx, asterisk.OriginateRequest{Endpoint: endpoint, CallerID: caller, Timeout: 60 * time.Second,
		Formats: asterisk.TrunkFormats}); err == nil {
		b.placer.Release(c)
	} else {
		b.log.Warn("placing a bench call", "endpoint", endpoint, "err", err)
	}
}

// controller connects a fresh Stasis application served by h; the caller
// stops it.
func (b *bench) controller(ctx context.Context, prefix string, h asterisk.Handler) (*asterisk.Client, error) {
	cfg := b.ari
	cfg.Application = prefix + uuid.NewString()[:8]
	c := asterisk.New(cfg, h, prometheus.NewRegistry(), b.log)
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// appQueueViaARI hands each caller to a controller that continues it into
// Queue() at once.
func (b *bench) appQueueViaARI(ctx context.Context, o Options) (run, error) {
	ctl, err := b.controller(ctx, "bench-aq-", continueTo{context: "bench-appqueue-ari", exten: "q"})
	if err != nil {
		return run{}, err
	}
	defer ctl.Stop()
	app := ctl.Application()
	return b.load(ctx, o, 2, time.Minute, func(num string) { b.fire(ctx, "Local/"+app+"@bench-stasis/n", num) })
}

// centralino runs one load through a fresh Redis queue and agents.
func (b *bench) centralino(ctx context.Context, o Options, runID int, onEstimate func(queue.Ticket, time.Duration)) (run, error) {
	prefix := "bench:" + uuid.NewString()[:8]
	defer func() {
		keys, _ := b.rdb.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			b.rdb.Del(context.Background(), keys...)
		}
	}()
	store := queue.NewStore(b.rdb, prefix)
	svc := queue.NewService(store, queue.Options{WrapUp: -1, Clock: time.Now, Log: b.log})
	for i := range o.Agents {
		id := fmt.Sprintf("r%02d", i+1)
		if err := svc.Login(ctx, id, "Local/"+id+"@sim-agents-bench/n", []string{"bench"}); err != nil {
			return run{}, err
		}
		if err := svc.Ready(ctx, id); err != nil {
			return run{}, err
		}
	}
	var op *queue.Operator
	ctl, err := b.controller(ctx, "bench-cq-", serve{op: &op})
	if err != nil {
		return run{}, err
	}
	defer ctl.Stop()
	app := ctl.Application()
	op = queue.NewOperator(queue.OperatorConfig{Instance: app, Queues: []string{"bench"}, RecallAfter: time.Hour, OnEstimate: onEstimate,
		DefaultHandleTime: 3 * time.Second}, store, svc, ctl, b.recalls, time.Now, prometheus.NewRegistry(), b.log)
	if err := op.Start(ctx); err != nil {
		return run{}, err
	}
	defer op.Stop()
	r, err := b.load(ctx, o, runID, 2*time.Minute, func(num string) { b.fire(ctx, "Local/"+app+"@bench-stasis/n", num) })
	time.Sleep(4 * time.Second) // the last calls end
	return r, err
}

// load places o.Calls callers at o.Rate per second with distinct caller
// numbers (runID tells the runs' numbers apart), waits up to patience for
// every caller's agent to ring, and reads the marks.
func (b *bench) load(ctx context.Context, o Options, runID int, patience time.Duration, place func(num string)) (run, error) {
	numbers := make([]string, o.Calls)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("34%d%07d", runID, i)
	}
	if err := b.clearMarks(ctx, numbers); err != nil {
		return run{}, err
	}
	every := time.Duration(float64(time.Second) / o.Rate)
	var wg sync.WaitGroup
	for i, num := range numbers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			place(num)
		}()
		if i == len(numbers)-1 {
			break
		}
		select {
		case <-ctx.Done():
			return run{}, ctx.Err()
		case <-time.After(every):
		}
	}
	wg.Wait()
	// Read the marks once the load is placed, then again for the callers
	// still waiting, until every agent rang or patience runs out.
	deadline := time.Now().Add(patience)
	in, ring := map[string]time.Time{}, map[string]time.Time{}
	for {
		time.Sleep(2 * time.Second)
		for _, num := range numbers {
			if _, ok := ring[num]; ok {
				continue
			}
			if err := b.readMarks(ctx, num, in, ring); err != nil {
				return run{}, err
			}
		}
		if len(ring) == len(numbers) || time.Now().After(deadline) {
			break
		}
	}
	r := run{waits: map[string]time.Duration{}}
	var first, last time.Time
	for _, num := range numbers {
		t0, ok1 := in[num]
		t1, ok2 := ring[num]
		if !ok1 || !ok2 {
			continue
		}
		r.lat = append(r.lat, t1.Sub(t0))
		r.waits[num] = t1.Sub(t0)
		if first.IsZero() || t0.Before(first) {
			first = t0
		}
		if t1.After(last) {
			last = t1
		}
	}
	if len(r.lat) > 1 && last.After(first) {
		r.cps = float64(len(r.lat)) / last.Sub(first).Seconds()
	}
	return r, nil
}

// readMarks reads a caller's marks (seconds since 1970 with microseconds,
// as the dialplan's STRFTIME wrote them); an unset mark is skipped.
func (b *bench) readMarks(ctx context.Context, num string, in, ring map[string]time.Time) error {
	for _, m := range []struct {
		name string
		into map[string]time.Time
	}{{"BENCH_IN_" + num, in}, {"BENCH_RING_" + num, ring}} {
		v, err := b.placer.GlobalVar(ctx, m.name)
		if err != nil {
			return err
		}
		if v == "" {
			continue
		}
		t, err := parseMark(v)
		if err != nil {
			return fmt.Errorf("mark %s: %w", m.name, err)
		}
		m.into[num] = t
	}
	return nil
}

func (b *bench) clearMarks(ctx context.Context, numbers []string) error {
	for _, num := range numbers {
		for _, name := range []string{"BENCH_IN_" + num, "BENCH_RING_" + num} {
			if err := b.placer.SetGlobalVar(ctx, name, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseMark reads "1795531360.462161" exactly (no float rounding).
func parseMark(v string) (time.Time, error) {
	sec, frac, ok := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || !ok || len(frac) != 6 {
		return time.Time{}, fmt.Errorf("not seconds.microseconds: %q", v)
	}
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("not seconds.microseconds: %q", v)
	}
	return time.Unix(s, us*1000), nil
}

// continueTo sends every caller into the dialplan at once.
type continueTo struct{ context, exten string }

func (c continueTo) Handle(ctx context.Context, call *asterisk.Call) {
	if err := call.Continue(ctx, c.context, c.exten, 1); err != nil {
		call.Hangup(context.Background())
	}
}
func (continueTo) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// serve is the centralino side: every caller goes straight to the queue.
// It holds the operator by reference: the client exists before the
// operator that needs it.
type serve struct{ op **queue.Operator }

// Handle queues the caller at once (the dialplan answered it, as the IVR
// would have before handing it over).
func (s serve) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	_, _ = (*s.op).Serve(ctx, c, queue.Ticket{CallID: uuid.New(), Caller: c.Caller(), Queue: "bench"})
}
func (serve) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

type noCalls struct{}

func (noCalls) Handle(ctx context.Context, c *asterisk.Call)  {}
func (noCalls) Recover(ctx context.Context, c *asterisk.Call) {}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p/100)].Microseconds()) / 1000
}

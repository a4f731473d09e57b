package callsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/centralino-cup/centralino/asterisk"
)

// BenchOptions size the ARI benchmark.
type BenchOptions struct {
	// Levels are the concurrent call counts tried, in order; the ramp
	// stops at the first level that fails the latency goal.
	Levels []int
	// GoalP99 is the DTMF→next-prompt p99 a level must meet (30 ms).
	GoalP99 time.Duration
	// Placers bound how many calls are being set up at once.
	Placers int
	// Spread is the window in which the held callers key, each at a random
	// moment: the length of a menu prompt, during which a real caller
	// keys (the main menu plays for about 10 s).
	Spread time.Duration
}

// BenchResult is the benchmark's last line.
type BenchResult struct {
	MaxConcurrentCalls int     `json:"max_concurrent_calls"`
	P50At100           float64 `json:"p50_ms_at_100"`
	P99At100           float64 `json:"p99_ms_at_100"`
	P50AtMax           float64 `json:"p50_ms_at_max"`
	P99AtMax           float64 `json:"p99_ms_at_max"`
	EventsDropped      float64 `json:"events_dropped"`
}

// benchIVR is the minimal IVR under test: answer, a prompt, a key, the
// next prompt.
type benchIVR struct{}

const (
	benchFirst  = "sound:beep"
	benchSecond = "sound:digits/1"
)

func (benchIVR) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	if c.Answer(ctx) != nil {
		return
	}
	k, err := c.Gather(ctx, []string{benchFirst}, asterisk.GatherSpec{Max: 1, FirstDigit: 2 * time.Minute})
	if err != nil || k == "" {
		return
	}
	_, _ = c.Play(ctx, benchSecond)
	<-ctx.Done() // the caller hangs up
}

func (benchIVR) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// BenchARI ramps simulated callers against an in-process IVR on the real
// Asterisk and reports the most concurrent calls held within the latency
// goal. cfg names the IVR's application; the simulator uses another.
func BenchARI(ctx context.Context, cfg asterisk.Config, opts BenchOptions, log *slog.Logger, out io.Writer) (BenchResult, error) {
	var res BenchResult
	reg := prometheus.NewRegistry()
	ivr := asterisk.New(cfg, benchIVR{}, reg, log)
	if err := ivr.Start(ctx); err != nil {
		return res, err
	}
	defer ivr.Stop()
	simCfg := cfg
	simCfg.Application = cfg.Application + "-sim"
	simReg := prometheus.NewRegistry()
	sim := New(simCfg, simReg, log)
	if err := sim.Start(ctx); err != nil {
		return res, err
	}
	defer sim.Stop()

	for _, n := range opts.Levels {
		lat, failed, err := level(ctx, sim, cfg.Application, n, opts)
		if err != nil {
			return res, err
		}
		p50, p99 := pct(lat, 50), pct(lat, 99)
		fmt.Fprintf(out, "%4d concurrent calls: DTMF→next prompt p50 %.1f ms, p99 %.1f ms, %d failed\n", n, p50, p99, failed)
		if n == 100 {
			res.P50At100, res.P99At100 = p50, p99
		}
		if failed > 0 || p99 > float64(opts.GoalP99.Microseconds())/1000 {
			break
		}
		res.MaxConcurrentCalls, res.P50AtMax, res.P99AtMax = n, p50, p99
	}
	res.EventsDropped = counter(reg, "centralino_ari_events_dropped_total") + counter(simReg, "centralino_ari_events_dropped_total") +
		counter(reg, "centralino_ari_events_undecodable_total") + counter(simReg, "centralino_ari_events_undecodable_total")
	line, err := json.Marshal(res)
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, string(line))
	return res, nil
}

// level holds n calls at once, then has each key once at a random moment
// within opts.Spread, and measures, on Asterisk's clock, from the key the
// IVR half received to the start of the next prompt: the time the
// controller took to react, without the simulator's own delays.
func level(ctx context.Context, sim *Simulator, app string, n int, opts BenchOptions) ([]time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	calls := make([]*Call, n)
	var failed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Placers)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := sim.Place(ctx, app, "sim-stasis", "3471234567")
			if err == nil {
				_, err = c.WaitPrompt(ctx, benchFirst, 0)
			}
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				if c != nil {
					c.Hangup(context.Background())
				}
				return
			}
			calls[i] = c
		}()
	}
	wg.Wait()
	// All n calls are up: now they key.
	var lat []time.Duration
	for _, c := range calls {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(max(opts.Spread, time.Millisecond)))))
			idx := len(c.Prompts())
			err := c.Key(ctx, "5")
			var at int
			if err == nil {
				at, err = c.WaitPrompt(ctx, benchSecond, idx)
			}
			keys := c.KeysReceived()
			mu.Lock()
			defer mu.Unlock()
			if err != nil || len(keys) == 0 {
				failed++
				return
			}
			lat = append(lat, c.Prompts()[at].Stamp.Sub(keys[0]))
		}()
	}
	wg.Wait()
	for _, c := range calls {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Hangup(context.Background())
		}()
	}
	wg.Wait()
	if ctx.Err() != nil && len(lat) == 0 {
		return nil, failed, errors.New("level timed out")
	}
	return lat, failed, nil
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p/100)].Microseconds()) / 1000
}

func counter(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			total += metricValue(m)
		}
	}
	return total
}

func metricValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return 0
}

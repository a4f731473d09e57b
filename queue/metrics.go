package queue

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/centralino-cup/centralino/calls"
)

// ShortAbandon is SPEC §8's default short-abandon threshold: a caller who
// hangs up within it, waiting, is a short abandon, counted apart and out
// of the service level.
const ShortAbandon = 5 * time.Second

// leftOutcomes are how a caller leaves the queue (docs/metrics.md): answered,
// abandoned, recall (accepted the offer), or failed (a technical failure
// while queued). Their series exist from the start, at zero, so that the
// ratios of docs/metrics.md never miss a term.
var leftOutcomes = []calls.Outcome{calls.OutcomeAgentAnswered, calls.OutcomeAbandoned, calls.OutcomeRecallRequested, calls.OutcomeFailed}

// WaitBuckets are the queue wait histogram's bounds, in seconds: the
// service levels at 20, 30 and 60 s, the short abandon at 5 s and the
// two-minute recall rule are bounds, so PromQL reads them exactly.
var WaitBuckets = []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600}

type metrics struct {
	waiting        *prometheus.GaugeVec
	longest        *prometheus.GaugeVec
	agents         *prometheus.GaugeVec
	ewt            *prometheus.GaugeVec
	wait           *prometheus.HistogramVec
	queued         *prometheus.CounterVec
	calls          *prometheus.CounterVec
	shortAbandoned *prometheus.CounterVec
	leased         *prometheus.CounterVec
	// shortAbandon is the threshold of a short abandon.
	shortAbandon time.Duration
}

func newMetrics(reg prometheus.Registerer, queues []string, shortAbandon time.Duration) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		shortAbandon: shortAbandon,
		waiting:      f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_waiting_calls", Help: "Callers waiting, by queue."}, []string{"queue"}),
		longest: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_longest_wait_seconds",
			Help: "How long the caller waiting longest has waited since first entering, by queue (0 with none)."}, []string{"queue"}),
		agents: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_agents", Help: "Logged-in agents by state."}, []string{"state"}),
		ewt: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_estimated_wait_seconds",
			Help: "Estimated wait of a caller entering now, by queue."}, []string{"queue"}),
		wait: f.NewHistogramVec(prometheus.HistogramOpts{Name: "centralino_queue_wait_seconds",
			Help:    "Time from first entering the queue to leaving it (answered: to the agent's answer), by queue and outcome.",
			Buckets: WaitBuckets}, []string{"queue", "outcome"}),
		queued: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_calls_queued_total",
			Help: "Callers handed to the queue (a caller re-adopted after a restart is not counted again), by queue."}, []string{"queue"}),
		calls: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_calls_total",
			Help: "Callers that left the queue, by queue and outcome (agent_answered, abandoned, recall_requested, failed)."}, []string{"queue", "outcome"}),
		shortAbandoned: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_calls_short_abandoned_total",
			Help: "Abandoned callers who hung up within the short-abandon threshold (also in centralino_queue_calls_total), by queue."}, []string{"queue"}),
		leased: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_leased_rings_total",
			Help: "Agents rung on a lease the moment a caller arrived, by queue and outcome: confirmed, or withdrawn (the lease was revoked in flight and the ring hung up at once)."},
			[]string{"queue", "outcome"}),
	}
	for _, q := range queues {
		m.queued.WithLabelValues(q)
		m.shortAbandoned.WithLabelValues(q)
		for _, o := range leftOutcomes {
			m.calls.WithLabelValues(q, string(o))
			m.wait.WithLabelValues(q, string(o))
		}
	}
	return m
}

// left counts a caller leaving queue after waiting (docs/metrics.md): the
// outcome, the wait, and a short abandon apart.
func (m *metrics) left(queue string, outcome calls.Outcome, waited time.Duration) {
	m.wait.WithLabelValues(queue, string(outcome)).Observe(waited.Seconds())
	m.calls.WithLabelValues(queue, string(outcome)).Inc()
	if outcome == calls.OutcomeAbandoned && waited <= m.shortAbandon {
		m.shortAbandoned.WithLabelValues(queue).Inc()
	}
}

// observe refreshes the gauges (every dispatcher tick).
func (o *Operator) observe(ctx context.Context, queues []string) {
	now := o.now()
	for _, q := range queues {
		ids, err := o.store.Waiting(ctx, q)
		if err != nil {
			return
		}
		o.m.waiting.WithLabelValues(q).Set(float64(len(ids)))
		longest := time.Duration(0)
		if first, ok, err := o.store.FirstEntered(ctx, ids); err == nil && ok {
			longest = max(now.Sub(first), 0)
		}
		o.m.longest.WithLabelValues(q).Set(longest.Seconds())
		serving, _ := o.store.Serving(ctx, q)
		aht, _ := o.store.HandleTime(ctx, q, o.cfg.DefaultHandleTime)
		o.m.ewt.WithLabelValues(q).Set(EstimateWait(len(ids)+1, serving, aht).Seconds())
	}
	counts, err := o.store.AgentStates(ctx)
	if err != nil {
		return
	}
	for _, st := range []AgentState{Ready, Paused, Ringing, Busy, WrapUp} {
		o.m.agents.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
}

package queue

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	waiting *prometheus.GaugeVec
	agents  *prometheus.GaugeVec
	ewt     *prometheus.GaugeVec
	wait    *prometheus.HistogramVec
	calls   *prometheus.CounterVec
	leased  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		waiting: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_waiting_calls", Help: "Callers waiting, by queue."}, []string{"queue"}),
		agents:  f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_agents", Help: "Logged-in agents by state."}, []string{"state"}),
		ewt: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_queue_estimated_wait_seconds",
			Help: "Estimated wait of a caller entering now, by queue."}, []string{"queue"}),
		wait: f.NewHistogramVec(prometheus.HistogramOpts{Name: "centralino_queue_wait_seconds",
			Help:    "Time from first entering the queue to leaving it, by queue and outcome.",
			Buckets: []float64{10, 30, 60, 90, 120, 180, 300, 600}}, []string{"queue", "outcome"}),
		calls: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_calls_total",
			Help: "Callers that left the queue, by queue and outcome (agent_answered, abandoned, recall_requested)."}, []string{"queue", "outcome"}),
		leased: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_queue_leased_rings_total",
			Help: "Agents rung on a lease the moment a caller arrived, by queue and outcome: confirmed, or withdrawn (the lease was revoked in flight and the ring hung up at once)."},
			[]string{"queue", "outcome"}),
	}
}

// observe refreshes the gauges (every dispatcher tick).
func (o *Operator) observe(ctx context.Context, queues []string) {
	for _, q := range queues {
		ids, err := o.store.Waiting(ctx, q)
		if err != nil {
			return
		}
		o.m.waiting.WithLabelValues(q).Set(float64(len(ids)))
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
